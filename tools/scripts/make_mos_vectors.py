#!/usr/bin/python3
"""Reference MOS statistics from SciPy for tests/eval/mos_vectors.txt.

Three synthetic (distance, MOS) sets (a noisy logistic, one with ties, one
nearly linear); for each, SciPy's spearmanr, kendalltau (tau-b) and Pearson r
after curve_fit of the 4-parameter logistic
q(d) = (b1 - b2) / (1 + exp(-(d - b3) / |b4|)) + b2.
Format: "set N" then N lines "d mos", then "stats SROCC KROCC PLCC".
Run: /usr/bin/python3 tools/scripts/make_mos_vectors.py
"""
import os

import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import kendalltau, pearsonr, spearmanr

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'eval', 'mos_vectors.txt')


def logistic(x, b1, b2, b3, b4):
    return (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4))) + b2


def main():
    rng = np.random.default_rng(7)
    sets = []
    d = rng.uniform(0, 1, 40)
    sets.append((d, logistic(d, 1.0, 9.0, 0.4, 0.12) + rng.normal(0, 0.6, 40)))
    d = np.round(rng.uniform(0, 1, 30), 1)
    sets.append((d, np.round(8 - 6 * d + rng.normal(0, 0.8, 30))))
    d = rng.uniform(0.1, 0.6, 25)
    sets.append((d, 5 - 4 * d + rng.normal(0, 0.3, 25)))
    with open(OUT, 'w') as f:
        f.write('# made by tools/scripts/make_mos_vectors.py (SciPy)\n')
        for d, m in sets:
            p, _ = curve_fit(logistic, d, m, p0=[m.min(), m.max(), d.mean(), d.std()],
                             maxfev=100000, ftol=1e-15, xtol=1e-15, gtol=1e-15)
            f.write('set %d\n' % len(d))
            for a, b in zip(d, m):
                f.write('%.17g %.17g\n' % (a, b))
            f.write('stats %.12f %.12f %.12f\n' % (spearmanr(d, m)[0], kendalltau(d, m)[0],
                                                  pearsonr(logistic(d, *p), m)[0]))


if __name__ == '__main__':
    main()
