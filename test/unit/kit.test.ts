import { expect } from 'chai';
import fc from 'fast-check';
import { TimeoutError, backoffDelay, formatHostPort, parseHostPort, runArgv, settleWithin, withTimeout } from '@ft/sdk';

// The shared kit (issue 19 §7): one backoff, one timeout helper, one argv runner, one HOST:PORT parser, used by
// every component that had its own copy.
describe('sdk kit', () => {
  it('backoffDelay: doubles from base, never above max, jitter within its factors', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, r) => {
          const exp = Math.min(max, base * 2 ** Math.min(attempt, 40));
          expect(backoffDelay(attempt, { baseMs: base, maxMs: max })).to.equal(Math.round(exp));
          const j = backoffDelay(attempt, { baseMs: base, maxMs: max, jitter: [-0.2, 0.2], random: () => r });
          expect(j).to.be.at.least(Math.floor(exp * 0.8));
          expect(j).to.be.at.most(Math.min(max, Math.ceil(exp * 1.2)));
        },
      ),
    );
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { baseMs: 250, maxMs: 10_000 }))).to.deep.equal([
      250, 500, 1000, 2000, 10_000,
    ]);
  });

  it('withTimeout rejects with a TimeoutError naming what was waited for; settleWithin gives undefined', async () => {
    const never = new Promise<number>(() => undefined);
    const err = await withTimeout(never, 20, 'gobgpd health').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TimeoutError);
    expect((err as Error).message).to.equal('gobgpd health: no answer within 20 ms');
    expect(await withTimeout(Promise.resolve(7), 1000, 'x')).to.equal(7);
    expect(await withTimeout(async () => 8, 1000, 'x')).to.equal(8);
    const failed = await withTimeout(Promise.reject(new Error('refused')), 1000, 'x').catch((e: Error) => e.message);
    expect(failed).to.equal('refused');
    expect(await settleWithin(never, 20)).to.equal(undefined);
    expect(await settleWithin(Promise.reject(new Error('x')), 1000)).to.equal(undefined);
    expect(await settleWithin(Promise.resolve('ok'), 1000)).to.equal('ok');
  });

  it('runArgv: argv only, stdin, exit codes, a missing binary and a timeout are results, never throws', async () => {
    const echo = await runArgv(['sh', '-c', 'cat; echo "$0" >&2; exit 3', '$(touch /nonexistent-ft-kit)'], {
      input: 'from stdin',
    });
    expect(echo).to.deep.equal({
      code: 3,
      stdout: 'from stdin',
      stderr: '$(touch /nonexistent-ft-kit)\n',
      timedOut: false,
    });
    const missing = await runArgv(['/nonexistent/ft-no-such-binary']);
    expect(missing.code).to.equal(null);
    expect(missing.timedOut).to.equal(false);
    expect(missing.stderr).to.match(/ENOENT/);
    const slow = await runArgv(['sleep', '30'], { timeoutMs: 100 });
    expect(slow).to.deep.include({ code: null, timedOut: true });
    expect(slow.stderr).to.match(/timed out after 100 ms/);
    expect((await runArgv(['sh', '-c', 'echo "$X"'], { env: { X: 'set' } })).stdout).to.equal('set\n');
  });

  it('parseHostPort: addresses, bracketed IPv6, names; what is wrong said plainly', () => {
    expect(parseHostPort('192.0.2.1:179')).to.deep.equal({ host: '192.0.2.1', port: 179, family: 4 });
    expect(parseHostPort('[2001:db8::1]:179')).to.deep.equal({ host: '2001:db8::1', port: 179, family: 6 });
    expect(parseHostPort('rtr.example.net:8282')).to.deep.equal({ host: 'rtr.example.net', port: 8282, family: 0 });
    expect(parseHostPort(':8282', { wildcard: true })).to.deep.equal({ host: '', port: 8282, family: 0 });
    expect(parseHostPort('[::]:50051', { wildcard: true }).host).to.equal('::');
    expect(parseHostPort('127.0.0.1:0', { portZero: true }).port).to.equal(0);
    for (const [text, why, opts] of [
      ['2001:db8::1:179', /without brackets: write \[2001:db8::1\]:179/, {}],
      ['192.0.2.1', /is not HOST:PORT/, {}],
      ['192.0.2.1:70000', /port 70000/, {}],
      ['192.0.2.1:0', /port 0/, {}],
      ['192.0.2.256:179', /not an IPv4 address/, {}],
      ['[192.0.2.1]:179', /not an IPv6 address/, {}],
      ['rtr.example.net:8282', /host name is not accepted/, { hostnames: false }],
      ['bad_name:1', /is not HOST:PORT/, {}],
      [':8282', /is not HOST:PORT/, {}],
    ] as const)
      expect(() => parseHostPort(text, opts), text).to.throw(why);
    expect(formatHostPort({ host: '2001:db8::1', port: 179 })).to.equal('[2001:db8::1]:179');
    expect(formatHostPort({ host: '192.0.2.1', port: 179 })).to.equal('192.0.2.1:179');
  });
});
