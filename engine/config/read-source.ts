import { readFileSync, statSync } from 'node:fs';
import type { Finding } from './diagnostic.ts';

/** Largest pipeline file Baton reads; a real pipeline is a few KiB. */
export const MAX_SOURCE_BYTES = 2 * 1024 * 1024;

/** A pipeline file's text, or the findings that say why it cannot be read as text. */
export type SourceText = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly findings: readonly PositionedFinding[] };

/** A finding that already knows its position (the file cannot be parsed, so there is no path to map). */
export interface PositionedFinding extends Finding {
  readonly line: number;
  readonly column: number;
}

function fileFinding(code: string, message: string, line = 1, column = 1, hint?: string): PositionedFinding {
  return { code, severity: 'error', message, path: [], line, column, hint };
}

/** Reads a pipeline file from disk; problems with the file itself become findings, never exceptions. */
export function readSource(file: string): SourceText {
  let bytes: Buffer;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) {
      return {
        ok: false,
        findings: [fileFinding('source/unreadable', `"${file}" is a directory, not a pipeline file`, 1, 1, 'pass the path of a pipeline.yaml file')],
      };
    }
    if (stat.size > MAX_SOURCE_BYTES) {
      return { ok: false, findings: [fileFinding('source/too-large', `file is ${stat.size} bytes; the limit is ${MAX_SOURCE_BYTES} bytes`)] };
    }
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read (permission denied)'
          : `cannot be read (${code ?? 'unknown error'})`;
    return {
      ok: false,
      findings: [
        fileFinding(
          'source/unreadable',
          `"${file}" ${why}`,
          1,
          1,
          code === 'ENOENT' ? 'run from the folder that holds pipeline.yaml, or pass its path' : undefined,
        ),
      ],
    };
  }
  return decodeSource(bytes);
}

/** Decodes bytes as a UTF-8 text file, rejecting binary and non-UTF-8 content with its position. */
export function decodeSource(bytes: Uint8Array): SourceText {
  if (bytes.length > MAX_SOURCE_BYTES) {
    return { ok: false, findings: [fileFinding('source/too-large', `file is ${bytes.length} bytes; the limit is ${MAX_SOURCE_BYTES} bytes`)] };
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    const { line, column } = positionOfByte(bytes, nul);
    return { ok: false, findings: [fileFinding('source/binary', 'file holds a NUL byte: it is binary, not YAML text', line, column)] };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const { line, column } = positionOfByte(bytes, bad);
    const byte = bytes[bad] ?? 0;
    return {
      ok: false,
      findings: [
        fileFinding(
          'source/encoding',
          `byte 0x${byte.toString(16).padStart(2, '0')} at offset ${bad} is not valid UTF-8`,
          line,
          column,
          'save the file as UTF-8',
        ),
      ],
    };
  }
  if (text.trim() === '' || /^(\s*#[^\n]*\n?)*\s*$/.test(text)) {
    return {
      ok: false,
      findings: [fileFinding('source/empty', 'file is empty: it holds no YAML document', 1, 1, 'start from the pipeline.yaml in the Baton repository')],
    };
  }
  return { ok: true, text };
}

function positionOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  // Count characters, not bytes, before the offset on its line (continuation bytes do not start one).
  let column = 1;
  for (let i = lineStart; i < offset; i++) if (((bytes[i] ?? 0) & 0xc0) !== 0x80) column++;
  return { line, column };
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    for (let k = 1; k < length; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    // Reject overlong and surrogate forms exactly as TextDecoder does, by decoding the one sequence.
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return Math.max(0, bytes.length - 1);
}
