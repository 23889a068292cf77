// Why: library code reports progress as plain data; only the CLI decides how to draw it
// (live bar on a TTY, plain lines, or JSON events).

export interface ProgressEvent {
  /** Short machine name of the step, e.g. 'read-bootkit', 'rewrite-rootfs', 'write-iso'. */
  step: string;
  /** Human text for a plain log line. */
  message?: string;
  /** Bytes (or items) done and total, when known. */
  done?: number;
  total?: number;
  /** 'start' | 'progress' | 'end' | 'info' | 'warn' */
  kind: 'start' | 'progress' | 'end' | 'info' | 'warn';
}

export type ProgressSink = (event: ProgressEvent) => void;

export const silent: ProgressSink = () => {};
