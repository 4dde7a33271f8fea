import { Args, Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import { cacheFlags, resolveCaches } from '../../rpki/command-flags.js';

export interface RpkiCheckResult {
  prefix: string;
  asn: number;
  mode: 'strict' | 'loose';
  state: 'valid' | 'invalid' | 'not-found';
  invalidReason?: 'as' | 'length';
  covering: { prefix: string; maxLength: number; asn: number }[];
  source: { cache: string; sessionId: number; serial: number; dataAgeSeconds: number } | { file: string; vrps: number };
}

export default class RpkiCheck extends FtCommand {
  static override summary = 'Validate a route origin (RFC 6811) against an RTR cache or a VRP file.';
  static override description =
    'Prints Valid, Invalid (as: no VRP for this origin AS, or length: longer than maxLength) or NotFound, with the VRPs that cover the prefix and the session, serial and age of the data. --loose ignores maxLength, the way ft checks RTBH /32 and /128 blackholes. The exit code is 0 whatever the state; read the state from the output or --json.';
  static override enableJsonFlag = true;
  static override args = {
    prefix: Args.string({ description: 'Prefix (203.0.113.0/24) or address (a host route)', required: true }),
    asn: Args.string({ description: 'Origin AS: 64500 or AS64500', required: true }),
  };
  static override flags = {
    ...cacheFlags,
    loose: Flags.boolean({ summary: 'Ignore maxLength (how RTBH blackholes are checked).', default: false }),
    file: Flags.string({
      summary: 'Validate against a VRP JSON file (stayrtr/rpki-client format) instead of a cache.',
      exclusive: ['cache', 'policy'],
    }),
  };
  static override examples = [
    '<%= config.bin %> rpki check 203.0.113.0/24 AS64500 --cache 127.0.0.1:8282',
    '<%= config.bin %> rpki check 203.0.113.10/32 64500 --loose --cache 127.0.0.1:8282 --json',
    '<%= config.bin %> rpki check 2001:db8:100::/48 64500 --file vrps.json',
  ];

  async run(): Promise<RpkiCheckResult> {
    const { args, flags } = await this.parse(RpkiCheck);
    const { Prefix, AddressInvalid, RtrUnavailable, VrpsInvalid } = await import('@ft/sdk');
    const rpki = await import('../../rpki/index.js');
    // A PrefixError is FT_E_ADDRESS_INVALID (exit 2), reported by FtCommand.
    const prefix = Prefix.parse(args.prefix);
    const asn = rpki.parseAsn(args.asn);
    if (asn === undefined)
      throw new AddressInvalid(
        { message: `"${args.asn}" is not an AS number (64500 or AS64500, up to 4294967295)` },
        { where: 'ASN' },
      );

    let table;
    let source: RpkiCheckResult['source'];
    if (flags.file) {
      const file = await rpki.readVrpFile(flags.file).catch((err: Error) => {
        throw new VrpsInvalid({ message: err.message }, { where: flags.file as string, cause: err });
      });
      table = file.table;
      source = { file: flags.file, vrps: table.size };
    } else {
      const caches = await resolveCaches(flags).catch((err: Error) => this.error(err.message, { exit: 2 }));
      const client = new rpki.RtrClient({ caches, connectTimeoutMs: flags.timeout * 1000 }).start();
      try {
        const snap = await client.ready(flags.timeout * 1000);
        table = snap.table;
        source = {
          cache: snap.cache,
          sessionId: snap.sessionId,
          serial: snap.serial,
          dataAgeSeconds: Math.round(snap.dataAgeSeconds * 10) / 10,
        };
      } catch (err) {
        throw new RtrUnavailable({ message: (err as Error).message }, { cause: err });
      } finally {
        client.stop();
      }
    }
    const v = flags.loose ? table.validateLoose(prefix, asn) : table.validate(prefix, asn);
    const covering = table
      .covering(prefix)
      .map((c) => ({ prefix: c.prefix.toString(), maxLength: c.maxLength, asn: c.asn }));
    const result: RpkiCheckResult = {
      prefix: prefix.toString(),
      asn,
      mode: flags.loose ? 'loose' : 'strict',
      state: v.state,
      ...(v.state === 'invalid' ? { invalidReason: v.reason } : {}),
      covering,
      source,
    };
    if (!this.jsonEnabled()) {
      const state = v.state === 'valid' ? 'Valid' : v.state === 'not-found' ? 'NotFound' : `Invalid (${v.reason})`;
      this.log(`${result.prefix} AS${asn}: ${state}${flags.loose ? ' (loose: maxLength ignored)' : ''}`);
      if (covering.length === 0) this.log('no VRP covers this prefix');
      for (const c of covering) this.log(`  covered by ${c.prefix} maxLength ${c.maxLength} AS${c.asn}`);
      this.log(
        'cache' in source
          ? `data: ${source.cache} session ${source.sessionId} serial ${source.serial}, ${source.dataAgeSeconds} s old`
          : `data: ${source.file} (${source.vrps} VRPs)`,
      );
    }
    return result;
  }
}
