// Limits the CLI checks before it talks to bentod, kept apart from spec.ts so that importing one does
// not load the schema library into every `bento` command.

/** Largest user-data accepted (NoCloud reads it whole; real cloud-configs are a few KiB). */
export const USER_DATA_MAX = 256 * 1024;
