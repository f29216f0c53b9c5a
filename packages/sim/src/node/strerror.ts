// Perl's "$!" in a string is strerror(errno); Node gives only the code. The ones a file write
// on pmxcfs or a local disk can meet.
const TEXTS: Record<string, string> = {
  EACCES: "Permission denied",
  EEXIST: "File exists",
  ENOENT: "No such file or directory",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EFBIG: "File too large",
  ENOSPC: "No space left on device",
  EIO: "Input/output error",
  EROFS: "Read-only file system",
  ENOTCONN: "Transport endpoint is not connected",
  ENOSYS: "Function not implemented",
  EPERM: "Operation not permitted",
};

/** The C library's text for a Node file error, as Perl prints `$!`. */
export function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  return TEXTS[code] ?? code;
}
