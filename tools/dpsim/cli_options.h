/*
 * cli_options.h - the option loop of the dpsim commands: getopt_long over
 * argv, each option offered in turn to the command's option groups (model
 * options, batch or training options, its own), -h/--help printing the
 * usage, and anything else reported as a usage error in one wording.
 */
#ifndef DPSIM_CLI_OPTIONS_H
#define DPSIM_CLI_OPTIONS_H

#include <getopt.h>

/**
 * One group of options. parse gets the getopt code c, its argument and the
 * command name for messages. @return -2 if c is not one of the group's, -1 if
 * it was handled, or an exit code (a usage error, already reported).
 */
typedef int (*cli_option_fn)(void *self, int c, const char *arg, const char *cmd);

/** One group of options; a list of groups ends with {NULL, NULL}. */
typedef struct cli_option_group {
    cli_option_fn parse;
    void *self;
} cli_option_group;

/* The end of every command's option table: --help, which cli_parse_options answers. */
#define CLI_HELP_OPTION_END {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}

/** What a command's option loop needs besides its groups. */
typedef struct cli_command {
    const char *name;                    /* "compare " (trailing space, for messages) */
    const char *const *usage;            /* the help text in parts, then NULL (ISO C
                                            guarantees 4095-byte literals only) */
    const char *short_options;           /* for getopt_long; "h" at least */
    const struct option *long_options;
} cli_command;

/**
 * Parse argv's options (getopt restarted, its own messages off). 'h' prints
 * the usage on stdout; an option no group takes, or one without its value, is
 * a usage error. On return optind is the first operand.
 * @return -1 to go on, or an exit code (EXIT_OK after --help).
 */
int cli_parse_options(const cli_command *cmd, int argc, char **argv,
                      const cli_option_group *groups);

#endif
