import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createJsonLogger, Secret } from '../../core/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createJsonLogger({ destination, level: 'debug' }) };
}

describe('log redaction', () => {
  it('redacts credentials at every depth, not only the first two levels', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        token: 'T0P',
        scrubbers: { cf: { token: 'cf-tok', accountId: 'acct-1' } },
        a: { b: { c: { d: { password: 'deep-pw' } } } },
        headers: [{ Authorization: 'Bearer xyz' }],
      },
      'configured',
    );
    const text = lines.join('\n');
    for (const secret of ['T0P', 'cf-tok', 'deep-pw', 'Bearer xyz']) expect(text).to.not.include(secret);
    const parsed = JSON.parse(lines[0] as string);
    expect(parsed.scrubbers.cf.accountId).to.equal('acct-1');
    expect(parsed.a.b.c.d.password).to.equal('[REDACTED]');
    expect(parsed.msg).to.equal('configured');
  });

  it('redacts child-logger bindings and errors', () => {
    const { lines, logger } = capture();
    logger
      .child({ adapter: 'ovh', applicationSecret: 'app-s3cret' })
      .error({ err: new Error('auth failed for redis://:hunter2@10.0.0.1:6379') }, 'boom');
    const text = lines.join('\n');
    expect(text).to.not.include('app-s3cret');
    expect(text).to.not.include('hunter2');
    expect(text).to.include('auth failed');
  });

  it('masks URL passwords in message strings', () => {
    const { lines, logger } = capture();
    logger.warn('cannot reach redis://default:pa55word@127.0.0.1:6379/0');
    expect(lines.join('\n')).to.not.include('pa55word');
    expect(lines.join('\n')).to.include('redis://default:[REDACTED]@127.0.0.1:6379/0');
  });

  it('masks credentials in connection strings written without a scheme', () => {
    const { lines, logger } = capture();
    logger.warn('cannot reach default:hunter2@127.0.0.1:6379 (also tried :s3cr3t@[::1]:6379)');
    const text = lines.join('\n');
    expect(text).to.not.include('hunter2');
    expect(text).to.not.include('s3cr3t');
    expect(text).to.include('default:[REDACTED]@127.0.0.1:6379');
    // Ordinary text with a colon and an @ stays readable.
    logger.warn('rule fs-1 via ams1: mail noc@example.net');
    expect(lines.join('\n')).to.include('rule fs-1 via ams1: mail noc@example.net');
  });

  it('a Secret never prints its value, in strings, JSON or logs', () => {
    const { lines, logger } = capture();
    const s = new Secret('sk-live-123', 'CF_API_TOKEN');
    expect(`${s}`).to.equal('[REDACTED]');
    expect(JSON.stringify({ s })).to.equal('{"s":"[REDACTED]"}');
    logger.info({ s, nested: { s } }, `using ${s}`);
    expect(lines.join('\n')).to.not.include('sk-live-123');
    expect(s.reveal()).to.equal('sk-live-123');
  });
});
