import { expect } from 'chai';
import fc from 'fast-check';
import { RedisUrlError, parseRedisUrl } from '../../core/state/redis/connect.js';

describe('fleet: Redis URL parsing (properties)', () => {
  it('any text: a target or a RedisUrlError, never another exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          parseRedisUrl(text, {});
        } catch (err) {
          expect(err).to.be.instanceOf(RedisUrlError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a password in the URL never shows in what may be printed, whatever else is wrong with the URL', () => {
    const password = fc.stringMatching(/^[A-Za-z0-9]{8,20}$/);
    const scheme = fc.constantFrom('redis', 'rediss', 'http', 'redis+x', '');
    const host = fc.constantFrom('127.0.0.1', '[2001:db8::1]', 'redis.example.net', '', 'bad host');
    const port = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', 'x'));
    const path = fc.constantFrom('', '/0', '/15', '/16', '/x', '/0?x=1');
    fc.assert(
      fc.property(scheme, password, host, port, path, (s, pw, h, p, db) => {
        const url = `${s}://ft:${pw}@${h}${p ? `:${p}` : ''}${db}`;
        try {
          const t = parseRedisUrl(url, {});
          expect(t.display).to.not.include(pw);
          expect(t.options.password).to.equal(pw);
        } catch (err) {
          expect((err as Error).message).to.not.include(pw);
        }
      }),
      { numRuns: 300 },
    );
  });
});
