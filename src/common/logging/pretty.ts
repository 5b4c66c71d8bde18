/**
 * The development log format (`LOG_FORMAT=pretty`, the default when NODE_ENV=development): one line
 * per event, `time level [context] message key=value …`, coloured on a terminal. It reformats the
 * JSON line AppLogger would have written, so both formats carry the same (redacted) fields; an
 * error's stack follows on indented lines. Production and tests keep the JSON lines.
 *
 * Hand-written rather than pino-pretty: a dozen lines, no worker thread, nothing new in the bundle.
 */

const LEVEL: Record<string, { label: string; colour: number }> = {
  DEBUG: { label: 'DEBUG', colour: 90 },
  INFO: { label: 'INFO ', colour: 32 },
  WARNING: { label: 'WARN ', colour: 33 },
  ERROR: { label: 'ERROR', colour: 31 },
  CRITICAL: { label: 'FATAL', colour: 35 },
};

/** Fields every line has (shown in the line's frame) or that only matter in Cloud Logging. */
const FRAME = new Set([
  'severity',
  'time',
  'message',
  'context',
  'logging.googleapis.com/trace',
  'logging.googleapis.com/spanId',
  'logging.googleapis.com/trace_sampled',
  '@type',
  'serviceContext',
]);
const MAX_VALUE = 200;

export function prettyLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const paint = (code: number, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVEL[String(entry['severity'])] ?? { label: String(entry['severity']).padEnd(5), colour: 0 };
  const time = typeof entry['time'] === 'string' ? localTime(entry['time']) : '';
  const context = typeof entry['context'] === 'string' ? `${paint(36, `[${entry['context']}]`)} ` : '';
  const stacks: string[] = [];
  const fields = Object.entries(entry)
    .filter(([key, value]) => {
      // Error Reporting's stack_trace (an ERROR line's error) and Nest's error(message, stack, context).
      const stackField = (key === 'stack_trace' || key === 'stack') && typeof value === 'string';
      if (stackField) stacks.push(stackBody(value));
      return !FRAME.has(key) && !stackField && value !== undefined;
    })
    .map(([key, value]) => {
      const stack = stackOf(value);
      if (stack) stacks.push(stack);
      return `${paint(2, `${key}=`)}${formatValue(value)}`;
    });
  const head = [paint(2, time), paint(level.colour, level.label), `${context}${String(entry['message'] ?? '')}`];
  const line = [...head, ...fields].filter(Boolean).join(' ');
  const trace = stacks.map((stack) => paint(2, indent(stack))).join('\n');
  return `${line}\n${trace ? `${trace}\n` : ''}`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return cut(/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value));
  if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    const error = value as { name?: string; message: string };
    return cut(JSON.stringify(`${error.name ?? 'Error'}: ${error.message}`));
  }
  return cut(JSON.stringify(value) ?? String(value));
}

/** The stack of a logged error, less its first line (the name and message already on the line). */
function stackOf(value: unknown): string | undefined {
  const stack = value && typeof value === 'object' ? (value as { stack?: unknown }).stack : undefined;
  return typeof stack === 'string' ? stackBody(stack) || undefined : undefined;
}

function stackBody(stack: string): string {
  const lines = stack.split('\n');
  return (/^\s+at /.test(lines[0] ?? '') ? lines : lines.slice(1)).join('\n').trim();
}

/** HH:MM:SS.mmm in the machine's time zone (the developer's clock). */
function localTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function cut(text: string): string {
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line.trim()}`)
    .join('\n');
}
