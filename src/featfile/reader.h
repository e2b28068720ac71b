/*
 * reader.h (private) - the in-memory form of a read feature file.
 */
#ifndef DPSIM_FEATFILE_READER_H
#define DPSIM_FEATFILE_READER_H

#include "featfile/featfile.h"

struct dpsim_featfile {
    char *name;                 /* file name for messages */
    ff_settings settings;
    char *prep, *provenance;
    size_t n;
    char **names;               /* (n) */
    dpsim_features **features;  /* (n) */
};

#endif
