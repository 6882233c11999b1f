import { LifeboatError } from '../../util/errors.ts';

/** Bytes that are not the protobuf message they were expected to be. */
export class ProtobufDecodeError extends LifeboatError {
  constructor(message: string) {
    super('protobuf_invalid', `protobuf: ${message}`, { status: 400 });
  }
}

export type ProtoField =
  | { field: number; wireType: 0; value: number }
  | { field: number; wireType: 1; bytes: Uint8Array }
  | { field: number; wireType: 2; bytes: Uint8Array }
  | { field: number; wireType: 5; bytes: Uint8Array };

/**
 * Reads a base-128 varint at `pos`. Values above 2^53 lose precision, which
 * is fine for the counters and microsecond timings CRIU stores.
 */
export function readVarint(buf: Uint8Array, pos: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = buf[pos + i];
    if (byte === undefined) throw new ProtobufDecodeError(`varint at offset ${pos} runs past the end`);
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  throw new ProtobufDecodeError(`varint at offset ${pos} is longer than 10 bytes`);
}

/** Splits one message into its fields, in wire order. Groups (wire types 3, 4) are refused. */
export function* readFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  while (pos < buf.length) {
    const key = readVarint(buf, pos);
    pos = key.next;
    const field = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    if (field === 0) throw new ProtobufDecodeError(`field number 0 at offset ${pos}`);
    switch (wireType) {
      case 0: {
        const v = readVarint(buf, pos);
        pos = v.next;
        yield { field, wireType, value: v.value };
        break;
      }
      case 1:
      case 5: {
        const len = wireType === 1 ? 8 : 4;
        if (pos + len > buf.length) throw new ProtobufDecodeError(`fixed field ${field} runs past the end`);
        yield { field, wireType, bytes: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case 2: {
        const len = readVarint(buf, pos);
        pos = len.next;
        if (pos + len.value > buf.length) throw new ProtobufDecodeError(`field ${field} runs past the end`);
        yield { field, wireType, bytes: buf.subarray(pos, pos + len.value) };
        pos += len.value;
        break;
      }
      default:
        throw new ProtobufDecodeError(`unsupported wire type ${wireType} for field ${field}`);
    }
  }
}
