/** The --filter keys of ps (container-list.ts applies them); the CLI's help names them without loading the list. */
export const CONTAINER_FILTERS = ['id', 'name', 'label', 'status', 'exited', 'ancestor'] as const;
