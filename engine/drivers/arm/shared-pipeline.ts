// What a wave's runs share of their ARM clients. The links of a fleet reach one Resource Manager:
// one HTTP client (its keep-alive agents: a TLS handshake per connection, not per run), one TLS
// settings object per CA (the HTTP client keys its agents by that object: @typespec/ts-http-runtime
// nodeHttpClient getOrCreateAgent) and one credential per identity (its token cache: one token
// request per wave, not per run) serve every run's own SqlManagementClient. Each run still builds
// its own client and pipeline, so the policies a run adds (its journal's request recorder,
// engine/apply/step-context.ts) see only that run's requests.
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { corePipelinePackage } from '../packages.js';

export interface ArmShared {
  httpClient(): Promise<HttpClient>;
  /** The one TLS settings object for this CA text. */
  tls(ca: string): { ca: string };
  /** The credential made once for `key` (which names everything that makes it differ). */
  credential(key: string, make: () => Promise<TokenCredential>): Promise<TokenCredential>;
}

export function armShared(): ArmShared {
  let http: Promise<HttpClient> | undefined;
  const tls = new Map<string, { ca: string }>();
  const credentials = new Map<string, Promise<TokenCredential>>();
  return {
    // Required, not imported: the CommonJS copy arm-sql's pipeline uses (../packages.ts).
    httpClient: () => (http ??= Promise.resolve().then(() => corePipelinePackage().createDefaultHttpClient())),
    tls(ca) {
      let settings = tls.get(ca);
      if (!settings) tls.set(ca, (settings = { ca }));
      return settings;
    },
    credential(key, make) {
      let made = credentials.get(key);
      if (!made) {
        made = make();
        credentials.set(key, made);
        // A credential that could not be made (a variable unset) is made again by the next run.
        made.catch(() => credentials.get(key) === made && credentials.delete(key));
      }
      return made;
    },
  };
}
