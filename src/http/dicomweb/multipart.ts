// A streaming multipart parser (RFC 2046 section 5.1, as PS3.18 uses it for multipart/related) that never holds
// a part's content: each pushed chunk comes back as events, and part content as slices of that chunk. Only the
// few bytes that might begin a delimiter, or a part's header block (at most maxHeaderBytes), are carried over
// between chunks, so memory stays flat whatever the size of the body or of any one part.
//
// Also parses the media-type grammar (RFC 9110 section 8.3.1) used by Content-Type headers.

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** Part header fields by lower-case name; a repeated field's values are joined with ", ". */
export type PartHeaders = Record<string, string>;

export type MultipartEvent =
  /** A part begins; `index` counts from 1 in arrival order. */
  | { type: 'part'; index: number; headers: PartHeaders }
  /** Content of the current part: a slice of the pushed chunk (valid as long as that chunk is). */
  | { type: 'data'; chunk: Buffer }
  /** The current part is complete (its closing delimiter has been seen). */
  | { type: 'part-end'; index: number }
  /** The close delimiter "--boundary--" has been seen: nothing after it is content. */
  | { type: 'done'; parts: number }
  /** The body is not well-formed from here on; the events before this one stand. Always the last event. */
  | { type: 'error'; error: MultipartError };

export interface MultipartParserOptions {
  /** Largest header block of one part (16 KiB unless told). */
  maxHeaderBytes?: number;
  /** Largest preamble before the first delimiter (16 KiB unless told); more means the boundary is wrong. */
  maxPreambleBytes?: number;
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'epilogue';

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;
const MAX_PADDING = 256;

/**
 * RFC 2046 bchars: digits, letters and '()+_,-./:=? and space (not last). RFC 2046 caps a boundary at 70 characters,
 * but real senders exceed it (Orthanc's DICOMweb client sends two UUIDs, 73 characters), so up to 256 are accepted.
 */
export const MAX_BOUNDARY_LENGTH = 256;
const BOUNDARY = new RegExp(`^[0-9A-Za-z'()+_,\\-./:=? ]{0,${MAX_BOUNDARY_LENGTH - 1}}[0-9A-Za-z'()+_,\\-./:=?]$`);

export function checkBoundary(boundary: string): string | undefined {
  if (!boundary) return 'the boundary parameter is empty';
  if (!BOUNDARY.test(boundary)) {
    return boundary.length > MAX_BOUNDARY_LENGTH
      ? `the boundary parameter is ${boundary.length} characters long; OphGate accepts at most ${MAX_BOUNDARY_LENGTH} (RFC 2046 allows 70)`
      : 'the boundary parameter has characters RFC 2046 does not allow in a boundary';
  }
  return undefined;
}

export class MultipartParser {
  private readonly delimiter: Buffer;
  private readonly maxHeaderBytes: number;
  private readonly maxPreambleBytes: number;
  private state: State = 'preamble';
  /** Bytes of the last chunk not yet consumed (a possible partial delimiter, or an incomplete header block). */
  private pending: Buffer;
  private preambleBytes = 0;
  private bodyBytes = 0;
  private parts = 0;
  private error: MultipartError | undefined;

  constructor(readonly boundary: string, options: MultipartParserOptions = {}) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.maxPreambleBytes = options.maxPreambleBytes ?? 16 * 1024;
    // The first delimiter may open the body without a preceding CRLF: pretend there was one.
    this.pending = Buffer.from('\r\n', 'latin1');
  }

  /** Parts begun so far. */
  get partCount(): number {
    return this.parts;
  }

  get complete(): boolean {
    return this.state === 'epilogue';
  }

  /**
   * Parses the next chunk of the body. When the body turns out not to be well-formed multipart, the events up to
   * that point come back followed by an 'error' event, and later calls throw that error.
   */
  push(chunk: Buffer): MultipartEvent[] {
    if (this.error) throw this.error;
    this.bodyBytes += chunk.length;
    const events: MultipartEvent[] = [];
    if (this.state === 'epilogue') return events; // the epilogue is ignored (RFC 2046)
    try {
      return this.parse(chunk, events);
    } catch (err) {
      if (!(err instanceof MultipartError)) throw err;
      this.error = err;
      events.push({ type: 'error', error: err });
      return events;
    }
  }

  private parse(chunk: Buffer, events: MultipartEvent[]): MultipartEvent[] {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    let pos = 0;
    for (;;) {
      switch (this.state as State) {
        case 'preamble': {
          const i = data.indexOf(this.delimiter, pos);
          if (i === -1) {
            const keep = Math.min(data.length - pos, this.delimiter.length - 1);
            this.preambleBytes += data.length - pos - keep;
            if (this.preambleBytes > this.maxPreambleBytes) {
              throw new MultipartError(`no delimiter "--${this.boundary}" in the first ${this.maxPreambleBytes} bytes of the body: the body does not use the boundary given in Content-Type`);
            }
            this.pending = data.subarray(data.length - keep);
            return events;
          }
          pos = i + this.delimiter.length;
          this.state = 'after-delimiter';
          continue;
        }
        case 'after-delimiter': {
          if (data.length - pos < 2) return this.keep(data, pos, events);
          if (data[pos] === DASH && data[pos + 1] === DASH) {
            this.state = 'epilogue';
            events.push({ type: 'done', parts: this.parts });
            return events;
          }
          let p = pos;
          while (p < data.length && (data[p] === 0x20 || data[p] === 0x09) && p - pos <= MAX_PADDING) p++;
          if (p - pos > MAX_PADDING) throw new MultipartError(`the delimiter before part ${this.parts + 1} is followed by more than ${MAX_PADDING} bytes of padding`);
          if (data.length - p < 2) return this.keep(data, pos, events);
          if (data[p] !== CR || data[p + 1] !== LF) {
            throw new MultipartError(`the delimiter "--${this.boundary}" before part ${this.parts + 1} is followed by ${describeBytes(data.subarray(p, p + 8))} instead of a line break (CRLF) or "--"`);
          }
          pos = p + 2;
          this.state = 'headers';
          continue;
        }
        case 'headers': {
          if (data.length - pos < 2) return this.keep(data, pos, events);
          let headers: PartHeaders;
          if (data[pos] === CR && data[pos + 1] === LF) {
            headers = {}; // no header fields at all: the content starts right after the blank line
            pos += 2;
          } else {
            const end = data.indexOf(CRLFCRLF, pos);
            if (end === -1 || end - pos > this.maxHeaderBytes) {
              if (end === -1 && data.length - pos <= this.maxHeaderBytes) return this.keep(data, pos, events);
              throw new MultipartError(`the headers of part ${this.parts + 1} exceed ${this.maxHeaderBytes} bytes or lack the blank line that ends them`);
            }
            headers = parseHeaderBlock(data.subarray(pos, end), this.parts + 1);
            pos = end + 4;
          }
          this.parts++;
          events.push({ type: 'part', index: this.parts, headers });
          this.state = 'body';
          continue;
        }
        case 'body': {
          const i = data.indexOf(this.delimiter, pos);
          if (i === -1) {
            const tail = partialDelimiterStart(data, Math.max(pos, data.length - (this.delimiter.length - 1)), this.delimiter);
            if (tail > pos) events.push({ type: 'data', chunk: data.subarray(pos, tail) });
            this.pending = data.subarray(tail);
            return events;
          }
          if (i > pos) events.push({ type: 'data', chunk: data.subarray(pos, i) });
          events.push({ type: 'part-end', index: this.parts });
          pos = i + this.delimiter.length;
          this.state = 'after-delimiter';
          continue;
        }
        case 'epilogue':
          return events;
      }
    }
  }

  /** Call once the body has ended; throws MultipartError naming what is missing when the body was cut short. */
  finish(): void {
    if (this.error) throw this.error;
    switch (this.state) {
      case 'epilogue':
        return;
      case 'preamble':
        throw new MultipartError(this.bodyBytes === 0
          ? 'the request body is empty: no parts'
          : `no delimiter "--${this.boundary}" in the body: the body does not use the boundary given in Content-Type`);
      case 'after-delimiter':
        throw new MultipartError(`the body ends after a delimiter without the close delimiter "--${this.boundary}--" (truncated body?)`);
      case 'headers':
        throw new MultipartError(`the body ends inside the headers of part ${this.parts + 1} (truncated body?)`);
      case 'body':
        throw new MultipartError(`the body ends inside part ${this.parts} without a closing delimiter "--${this.boundary}--" (truncated body?)`);
    }
  }

  private keep(data: Buffer, pos: number, events: MultipartEvent[]): MultipartEvent[] {
    // Copy: a small carry must not pin a large chunk in memory.
    this.pending = Buffer.from(data.subarray(pos));
    return events;
  }
}

/** Where a suffix of data[from..] that is a proper prefix of the delimiter begins (data.length if none). */
function partialDelimiterStart(data: Buffer, from: number, delimiter: Buffer): number {
  for (let k = data.indexOf(CR, from); k !== -1; k = data.indexOf(CR, k + 1)) {
    const n = data.length - k;
    if (delimiter.compare(data, k, data.length, 0, n) === 0) return k;
  }
  return data.length;
}

function parseHeaderBlock(block: Buffer, partIndex: number): PartHeaders {
  const headers: PartHeaders = {};
  let last: string | undefined;
  for (const line of block.toString('latin1').split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers[last] += ' ' + line.trim(); // obsolete line folding (RFC 5322 section 2.2.3)
      continue;
    }
    const m = HEADER_LINE.exec(line);
    if (!m || /[\x00-\x08\x0a-\x1f\x7f]/.test(line)) {
      throw new MultipartError(`part ${partIndex} has a malformed header line: ${describeBytes(Buffer.from(line.slice(0, 40), 'latin1'))}`);
    }
    const name = m[1]!.toLowerCase();
    headers[name] = headers[name] === undefined ? m[2]! : `${headers[name]}, ${m[2]!}`;
    last = name;
  }
  return headers;
}

/** Printable text in quotes, or hex when the bytes are not text. */
function describeBytes(bytes: Buffer): string {
  const s = bytes.toString('latin1');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `bytes ${bytes.toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}

// ---- media types -------------------------------------------------------------------------------------------

export interface MediaType { type: string; params: Record<string, string> }

/**
 * Parses `type/subtype *( OWS ";" OWS name=value )` with token or quoted-string values. Type and parameter
 * names are lower-cased; values are kept as sent. Returns undefined when the text is not a media type.
 */
export function parseMediaType(text: string): MediaType | undefined {
  const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/.exec(text);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  let rest = text.slice(m[0].length);
  while (rest.length > 0) {
    const p = /^;\s*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s"]*)\s*)?/.exec(rest);
    if (!p || p[0].length === 0) return undefined;
    if (p[1] !== undefined) {
      const raw = p[2] ?? '';
      params[p[1].toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
    rest = rest.slice(p[0].length);
  }
  return { type: m[1]!.toLowerCase(), params };
}
