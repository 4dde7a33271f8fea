// Local fake of AWS WAFv2 + Shield (the AWS WAFV2 and AWS Shield API references; docs/adapters/aws-shield.md): one POST / dispatching on X-Amz-Target, awsJson1_1, errors as
// 400 {"__type","message"}. SigV4 is verified by re-signing the received request (the headers it lists as signed)
// with @smithy/signature-v4 and the fake's own credentials, so a wrong secret fails like on AWS.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { FakeServer, json, type Recorded, type Reply } from '../../http-vendor/test/fake.js';

type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Source): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

class Sha256 {
  readonly #h;
  constructor(secret?: Source) {
    this.#h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Source): void {
    this.#h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#h.digest());
  }
}

const awsError = (type: string, message: string, status = 400): Reply => ({
  status,
  headers: { 'x-amzn-requestid': randomUUID(), 'content-type': 'application/x-amz-json-1.1' },
  body: { __type: type, message },
});

export class AwsFake {
  readonly server: FakeServer;
  readonly ipSets = new Map<
    string,
    {
      Name: string;
      Id: string;
      ARN: string;
      Description: string;
      IPAddressVersion: 'IPV4' | 'IPV6';
      Addresses: string[];
      lock: string;
    }
  >();
  /** Called before each UpdateIPSet is applied: a test can write the set here (another editor). */
  beforeUpdate: (() => void) | undefined;

  constructor(
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
    readonly region = 'eu-west-1',
  ) {
    this.server = new FakeServer((r) => this.#route(r));
  }

  addIpSet(name: string, version: 'IPV4' | 'IPV6', addresses: string[] = []): string {
    const id = randomUUID();
    this.ipSets.set(id, {
      Name: name,
      Id: id,
      ARN: `arn:aws:wafv2:${this.region}:123456789012:regional/ipset/${name}/${id}`,
      Description: 'ddos blocklist',
      IPAddressVersion: version,
      Addresses: addresses,
      lock: randomUUID(),
    });
    return id;
  }

  /** Another writer: changes the set and rotates its LockToken. */
  touch(id: string, add: string): void {
    const s = this.ipSets.get(id)!;
    s.Addresses.push(add);
    s.lock = randomUUID();
  }

  async #verify(req: Recorded): Promise<Reply | undefined> {
    const auth = String(req.headers.authorization ?? '');
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m)
      return awsError(
        'IncompleteSignatureException',
        'Authorization header requires Credential, SignedHeaders and Signature',
      );
    const [, akid, , region, service, signedHeaders, signature] = m;
    if (akid !== this.accessKeyId)
      return awsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    const headers: Record<string, string> = {};
    for (const h of signedHeaders!.split(';')) headers[h] = String(req.headers[h] ?? '');
    const amzDate = String(req.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    if (Math.abs(Date.now() - signingDate.getTime()) > 5 * 60_000)
      return awsError('InvalidSignatureException', 'Signature expired');
    const signer = new SignatureV4({
      service: service!,
      region: region!,
      sha256: Sha256,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
      uriEscapePath: true,
    });
    const signed = await signer.sign(
      {
        method: req.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: this.server.port,
        path: req.url.pathname,
        query: {},
        headers,
        body: req.body,
      },
      { signingDate },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(
      String(signed.headers.authorization ?? signed.headers.Authorization),
    )?.[1];
    if (expected !== signature) {
      return awsError(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
        403,
      );
    }
    return undefined;
  }

  async #route(req: Recorded): Promise<Reply> {
    if (req.method !== 'POST' || req.url.pathname !== '/')
      return awsError('UnknownOperationException', 'Unknown operation', 404);
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
      return awsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
    const bad = await this.#verify(req);
    if (bad) return bad;
    const target = String(req.headers['x-amz-target'] ?? '');
    const b = json(req) ?? {};
    switch (target) {
      case 'AWSWAF_20190729.GetIPSet': {
        const s = this.ipSets.get(b.Id);
        if (!s || s.Name !== b.Name || b.Scope !== 'REGIONAL')
          return awsError(
            'WAFNonexistentItemException',
            'AWS WAF couldn’t perform the operation because your resource doesn’t exist.',
          );
        const { lock, ...ipSet } = s;
        return { status: 200, body: { IPSet: ipSet, LockToken: lock } };
      }
      case 'AWSWAF_20190729.UpdateIPSet': {
        this.beforeUpdate?.();
        const s = this.ipSets.get(b.Id);
        if (!s || s.Name !== b.Name)
          return awsError(
            'WAFNonexistentItemException',
            'AWS WAF couldn’t perform the operation because your resource doesn’t exist.',
          );
        if (!Array.isArray(b.Addresses) || typeof b.LockToken !== 'string')
          return awsError('WAFInvalidParameterException', 'Addresses and LockToken are required');
        if (b.LockToken !== s.lock)
          return awsError(
            'WAFOptimisticLockException',
            'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it. Reapply your changes.',
          );
        const cidr = s.IPAddressVersion === 'IPV4' ? /^\d+\.\d+\.\d+\.\d+\/\d+$/ : /^[0-9a-f:]+\/\d+$/i;
        if (!b.Addresses.every((a: string) => cidr.test(a)))
          return awsError('WAFInvalidParameterException', 'Invalid CIDR for this IP address version');
        s.Addresses = b.Addresses;
        s.Description = b.Description ?? '';
        s.lock = randomUUID();
        return { status: 200, body: { NextLockToken: s.lock } };
      }
      case 'AWSShield_20160616.DescribeProtection':
        if (b.ProtectionId !== 'prot-1')
          return awsError('ResourceNotFoundException', 'The referenced protection does not exist.');
        return {
          status: 200,
          body: {
            Protection: {
              Id: 'prot-1',
              Name: 'edge-eip',
              ResourceArn: 'arn:aws:ec2:eu-west-1:123456789012:eip-allocation/eipalloc-1',
              HealthCheckIds: [],
            },
          },
        };
      default:
        return awsError('UnknownOperationException', `Unknown operation ${target}`);
    }
  }
}
