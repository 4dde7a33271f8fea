import { Command, Flags } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import type { EnforcerState } from '../../enforcer.js';

export default class EnforcerRun extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary = 'Mirror the FlowSpec routes the local gobgpd received into an nftables table (Linux edge).';
  static override description =
    'Reads the FlowSpec routes (IPv4 and IPv6) the local gobgpd holds - every received best path, or the adj-in of one ' +
    'peer with --peer - and keeps the nftables table inet <table> equal to them: discard -> drop, rate-limit -> ' +
    'limit rate over N bytes/second drop, mark -> dscp set. Redirect has no Linux equivalent and is logged and skipped. ' +
    'Each change replaces the table in one nft transaction. On exit (SIGINT/SIGTERM) the table is removed.';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> enforcer run --gobgp 127.0.0.1:50051',
    '<%= config.bin %> enforcer run --gobgp unix:///run/gobgpd.sock --peer 192.0.2.1 --netns edge',
    '<%= config.bin %> enforcer run --gobgp 127.0.0.1:50051 --once --json',
  ];
  static override flags = {
    gobgp: Flags.string({
      required: true,
      description: 'gRPC API of the local gobgpd: host:port or unix:///path.sock',
    }),
    peer: Flags.string({ description: 'only enforce what this neighbor (the ft controller) sent: its adj-in' }),
    netns: Flags.string({ description: 'apply the nft table inside this network namespace' }),
    table: Flags.string({ default: 'ft_flowspec', description: 'nftables table (family inet) owned by the enforcer' }),
    'proto-dir': Flags.string({
      description: "directory of GoBGP's .proto files (default: Debian's golang-github-osrg-gobgp-dev)",
    }),
    resync: Flags.integer({ default: 10, min: 1, description: 'seconds between full re-reads, besides change events' }),
    'stale-after': Flags.integer({
      default: 60,
      min: 1,
      description: 'seconds gobgpd may stay unreachable before our rules are removed',
    }),
    'max-routes': Flags.integer({
      default: 2000,
      min: 1,
      description: 'at most this many routes become nft rules (most specific first); the rest are logged and skipped',
    }),
    once: Flags.boolean({ default: false, description: 'sync once, print the result and exit (the table stays)' }),
  };

  async run(): Promise<EnforcerState> {
    const { flags } = await this.parse(EnforcerRun);
    const { FlowSpecEnforcer } = await import('../../enforcer.js');
    const { stderrLogger } = await import('../../log.js');
    const { parseAddress } = await import('@ft/bgp-gobgp');
    try {
      parseAddress(flags.gobgp);
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    const enforcer = new FlowSpecEnforcer({
      gobgp: flags.gobgp,
      peer: flags.peer,
      netns: flags.netns,
      table: flags.table,
      protoDir: flags['proto-dir'],
      resyncMs: flags.resync * 1000,
      maxRoutes: flags['max-routes'],
      staleAfterMs: flags['stale-after'] * 1000,
      logger: stderrLogger({ name: 'enforcer' }),
    });
    if (flags.once) {
      const state = await enforcer.syncOnce();
      await enforcer.stop({ keepRules: true });
      if (state.lastError) this.error(state.lastError, { exit: 1 });
      if (!this.jsonEnabled())
        this.log(
          `${state.installed.length} FlowSpec route(s) in table inet ${state.table}, ${state.skipped.length} skipped`,
        );
      return state;
    }
    await enforcer.start();
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await enforcer.stop();
    return enforcer.state;
  }
}
