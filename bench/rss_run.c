/*
 * rss_run.c - run a command and report its peak resident set size. A child
 * inherits the peak RSS of the process that started it (Linux records the
 * old address space's high-water mark at exec), so a command started straight
 * from bench/run.py, which holds PyTorch, would show run.py's RSS; started
 * from this small process it shows its own.
 * Prints `rss_run peak_rss_kb N` as the last line on stderr and exits with
 * the command's status (128 + signal if it was killed).
 * Usage: rss_run COMMAND [ARGS...]
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* wait4 */
#endif
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return 1;
    fprintf(stderr, "rss_run peak_rss_kb %ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
