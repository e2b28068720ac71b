/*
 * cli_options.c - the shared option loop (see cli_options.h).
 */
#include "cli_options.h"

#include <stdio.h>

#include "cli.h"

static void print_usage(const char *const *parts)
{
    for (; *parts; parts++)
        fputs(*parts, stdout);
}

/* getopt's unknown option or missing value (after '?'); returns EXIT_USAGE. */
static int option_error(const char *cmd, char **argv)
{
    /* optopt is the short option's letter; for a long option it is 0 (unknown) or the
       option's code (value missing), which names nothing: the word itself does. */
    if (optopt > 0 && optopt < 256)
        return cli_usage_error(cmd, "option '-%c' is unknown or needs a value", optopt);
    return cli_usage_error(cmd, "option '%s' is unknown or needs a value", argv[optind - 1]);
}

int cli_parse_options(const cli_command *cmd, int argc, char **argv,
                      const cli_option_group *groups)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, cmd->short_options, cmd->long_options, NULL)) != -1) {
        int rc = -2;
        for (const cli_option_group *g = groups; g->parse && rc == -2; g++)
            rc = g->parse(g->self, c, optarg, cmd->name);
        if (rc == -1)
            continue;
        if (rc >= 0)
            return rc;
        if (c == 'h') {
            print_usage(cmd->usage);
            return EXIT_OK;
        }
        return option_error(cmd->name, argv);
    }
    return -1;
}
