import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE, helperMessageSchema, parseLine, requestSchema, startupLineSchema } from './protocol.js';

describe('LineSplitter', () => {
  it('splits across chunk boundaries and skips blank lines', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), () => lines.push('OVERFLOW'));
    s.push('{"a":');
    s.push('1}\n\n{"b"');
    s.push(':2}\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reports a line longer than MAX_LINE instead of buffering it', () => {
    let overflow = 0;
    const s = new LineSplitter(() => undefined, () => overflow++);
    s.push('x'.repeat(MAX_LINE + 1));
    expect(overflow).toBe(1);
  });
});

describe('schemas', () => {
  it('accepts the requests of the protocol and nothing else', () => {
    expect(parseLine(requestSchema, '{"id":1,"op":"pause"}')).toEqual({ id: 1, op: 'pause' });
    expect(parseLine(requestSchema, '{"id":2,"op":"save","file":"/x"}')).toEqual({ id: 2, op: 'save', file: '/x' });
    expect(parseLine(requestSchema, '{"id":1,"op":"format-disk"}')).toBeNull();
    expect(parseLine(requestSchema, '{"id":1,"op":"pause","extra":1}')).toBeNull();
    expect(parseLine(requestSchema, 'not json')).toBeNull();
  });

  it('accepts helper messages only with one of the ten states', () => {
    expect(parseLine(helperMessageSchema, '{"type":"state","state":"paused","vzState":"VZVirtualMachineStatePaused","reason":null}')).toMatchObject({ state: 'paused' });
    expect(parseLine(helperMessageSchema, '{"type":"state","state":"zombie","vzState":"x","reason":null}')).toBeNull();
  });

  it('parses both startup lines', () => {
    expect(parseLine(startupLineSchema, '{"type":"started","pid":5,"startedAt":"t","logOffset":0,"node":"v20"}')).toMatchObject({ type: 'started' });
    expect(parseLine(startupLineSchema, '{"type":"failed","error":{"kind":"entitlement","message":"m"}}')).toMatchObject({ type: 'failed' });
  });
});
