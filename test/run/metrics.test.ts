import { expect } from 'chai';
import { FtMetrics, parseMetricsAddress } from '../../core/metrics/metrics.js';
import { Lifecycle } from '../../core/exec/lifecycle.js';
import { MemoryAction, flowspec, hostFilter, op, quiet, setup } from '../exec/fixtures.js';

describe('metrics: what an operator graphs', () => {
  it('counts rules live by kind and level, op latency per adapter and outcome, adapter errors after retries', async () => {
    const metrics = new FtMetrics({ defaults: false });
    const good = new MemoryAction('pop1');
    const bad = new MemoryAction('pop2');
    bad.failApply = 100;
    const { executor, store, clock } = await setup([good, bad], { metrics });
    await executor.execute(
      {
        tenant: 'acme',
        mode: 'enforce',
        ops: [op('add', flowspec(60), ['pop1', 'pop2']), op('add', hostFilter(61), ['pop1'])],
        refused: [],
        notes: [],
      },
      { plannedBy: 'planner' },
    );
    let text = await metrics.registry.metrics();
    expect(text).to.match(/^ft_rules_live\{kind="flowspec",level="2"\} 1$/m);
    expect(text).to.match(/^ft_rules_live\{kind="host-filter",level="0"\} 1$/m);
    expect(text).to.match(/^ft_adapter_errors_total\{adapter="pop2",op="apply"\} 1$/m);
    expect(text).to.match(/^ft_op_duration_seconds_count\{op="add",adapter="pop1",outcome="ok"\} 2$/m);
    expect(text).to.match(/^ft_op_duration_seconds_count\{op="add",adapter="pop2",outcome="failed"\} 1$/m);
    clock.advance(301_000);
    await new Lifecycle({ executor, logger: quiet, clock }).tick();
    text = await metrics.registry.metrics();
    expect(text).to.not.match(/^ft_rules_live\{/m);
    await store.close();
  });

  it('the endpoint stays on loopback unless asked', () => {
    expect(parseMetricsAddress('127.0.0.1:9310')).to.deep.equal({ host: '127.0.0.1', port: 9310 });
    expect(parseMetricsAddress('[::1]:9310')).to.deep.equal({ host: '::1', port: 9310 });
    expect(() => parseMetricsAddress('192.0.2.10:9310')).to.throw(/not a loopback address/);
    expect(parseMetricsAddress('192.0.2.10:9310', true)).to.deep.equal({ host: '192.0.2.10', port: 9310 });
    expect(() => parseMetricsAddress('localhost')).to.throw(/expected HOST:PORT/);
    expect(() => parseMetricsAddress('127.0.0.1:99999')).to.throw(/out of range/);
  });
});
