/** The --filter keys of the image list (image-list.ts applies them); the CLI's help names them without loading the list. */
export const IMAGE_FILTERS = ['dangling', 'label', 'before', 'since', 'reference'] as const;
