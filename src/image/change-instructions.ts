// The instructions `commit --change` takes: a module of its own so that the CLI's definitions
// (the option's help) load no parser.

/**
 * What docker's daemon accepts (its validCommitCommands: the documented list plus HEALTHCHECK),
 * plus STOPSIGNAL, which podman accepts too.
 */
export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL',
  'USER', 'VOLUME', 'WORKDIR'] as const;
