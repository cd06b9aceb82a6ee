/* eslint-disable no-bitwise */ // zip headers are bit fields
import * as zlib from 'zlib';

/** One file of a zip archive. */
export interface ZipEntry {
  /** Path inside the archive, with '/' separators. */
  readonly path: string;
  /** The uncompressed content. */
  readonly data: Buffer;
  /** Whether the archive marks the file executable (unix mode, when the archive has one). */
  readonly executable: boolean;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/**
 * The files of a zip archive (no directories), read through its central directory.
 *
 * Enough for the seed code archives CDK and zip tools make: stored and deflated entries, unix
 * modes, UTF-8 names. Encrypted entries, multi-disk and zip64 archives are refused.
 */
export function readZip(zip: Buffer): ZipEntry[] {
  const eocd = findEndOfCentralDirectory(zip);
  const count = zip.readUInt16LE(eocd + 10);
  const centralOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || centralOffset === 0xffffffff) {
    throw new Error('the seed code archive is a zip64 archive, which is not supported; keep the seed code under 4 GB and 65535 files');
  }
  const entries: ZipEntry[] = [];
  let offset = centralOffset;
  for (let i = 0; i < count; i++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== CENTRAL_SIGNATURE) {
      throw new Error(`the seed code archive is not a valid zip file (central directory entry ${i} is damaged)`);
    }
    const madeBy = zip.readUInt16LE(offset + 4);
    const flags = zip.readUInt16LE(offset + 8);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const externalAttributes = zip.readUInt32LE(offset + 38);
    const localOffset = zip.readUInt32LE(offset + 42);
    const rawName = zip.subarray(offset + 46, offset + 46 + nameLength);
    // Bit 11: the name is UTF-8; otherwise CP437, which equals ASCII for the names seed code has.
    const name = rawName.toString((flags & 0x800) ? 'utf8' : 'latin1').replace(/\\/g, '/');
    offset += 46 + nameLength + extraLength + commentLength;

    if (name.endsWith('/')) continue;
    if (flags & 0x1) throw new Error(`the seed code archive entry '${name}' is encrypted; use an unencrypted zip`);
    if (name.startsWith('/') || name.split('/').some(part => part === '..' || part === '')) {
      throw new Error(`the seed code archive entry '${name}' has an unsafe path; use relative paths without '..'`);
    }
    if (zip.readUInt32LE(localOffset) !== LOCAL_SIGNATURE) {
      throw new Error(`the seed code archive is not a valid zip file (local header of '${name}' is damaged)`);
    }
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const compressed = zip.subarray(dataStart, dataStart + compressedSize);
    let data: Buffer;
    if (method === 0) {
      data = Buffer.from(compressed);
    } else if (method === 8) {
      data = zlib.inflateRawSync(compressed);
    } else {
      throw new Error(`the seed code archive entry '${name}' uses compression method ${method}; use stored or deflated entries`);
    }
    if (data.length !== size) {
      throw new Error(`the seed code archive entry '${name}' has ${data.length} bytes where the archive says ${size}`);
    }
    // Unix "made by" (3) keeps the file mode in the high 16 bits of the external attributes.
    const executable = (madeBy >> 8) === 3 && ((externalAttributes >>> 16) & 0o111) !== 0;
    entries.push({ path: name, data, executable });
  }
  return entries;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535 bytes, at the end.
  const last = zip.length - 22;
  const first = Math.max(0, last - 0xffff);
  for (let i = last; i >= first; i--) {
    if (zip.readUInt32LE(i) === EOCD_SIGNATURE) return i;
  }
  throw new Error('the seed code archive is not a zip file (no end of central directory record)');
}
