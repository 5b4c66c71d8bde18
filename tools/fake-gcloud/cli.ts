/** gcloud's command line: the command path, its positional arguments and its flags. */
export interface Invocation {
  /** e.g. `['pubsub', 'subscriptions', 'create']`. */
  command: string[];
  positional: string[];
  flags: Map<string, string[]>;
}

/** Flags that take no value (everything else takes one, as `--flag=value` or `--flag value`). */
const BOOLEAN_FLAGS = new Set([
  'quiet',
  'async',
  'enabled',
  'enable-ttl',
  'disable-ttl',
  'disable-indexes',
  'to-latest',
  'include-email',
]);

/** Every command the fake knows, longest first so `scheduler jobs create http` wins over shorter prefixes. */
export const COMMANDS = [
  'config get-value',
  'projects describe',
  'projects get-iam-policy',
  'projects add-iam-policy-binding',
  'services list',
  'services enable',
  'iam service-accounts describe',
  'iam service-accounts create',
  'iam service-accounts get-iam-policy',
  'iam service-accounts add-iam-policy-binding',
  'artifacts repositories describe',
  'artifacts repositories create',
  'artifacts repositories get-iam-policy',
  'artifacts repositories add-iam-policy-binding',
  'firestore databases describe',
  'firestore databases create',
  'firestore indexes composite list',
  'firestore indexes composite create',
  'firestore indexes fields list',
  'firestore indexes fields update',
  'firestore fields ttls list',
  'firestore fields ttls update',
  'pubsub topics describe',
  'pubsub topics create',
  'pubsub topics get-iam-policy',
  'pubsub topics add-iam-policy-binding',
  'pubsub subscriptions describe',
  'pubsub subscriptions create',
  'pubsub subscriptions update',
  'pubsub subscriptions modify-push-config',
  'pubsub subscriptions get-iam-policy',
  'pubsub subscriptions add-iam-policy-binding',
  'secrets describe',
  'secrets create',
  'secrets get-iam-policy',
  'secrets add-iam-policy-binding',
  'secrets versions list',
  'secrets versions add',
  'secrets versions access',
  'scheduler jobs describe',
  'scheduler jobs create http',
  'scheduler jobs update http',
  'run services describe',
  'run services replace',
  'run services get-iam-policy',
  'run services add-iam-policy-binding',
  'run services update-traffic',
  'run revisions list',
  'endpoints services get-iam-policy',
  'endpoints services add-iam-policy-binding',
  'logging metrics describe',
  'logging metrics create',
  'logging metrics update',
  'alpha monitoring policies list',
  'alpha monitoring policies create',
  'alpha monitoring policies update',
]
  .map((c) => c.split(' '))
  .sort((a, b) => b.length - a.length);

export class UnknownCommand extends Error {}

export function parseInvocation(argv: string[]): Invocation {
  const words: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-q') {
      flags.set('quiet', ['true']);
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      let value: string;
      if (eq !== -1) value = arg.slice(eq + 1);
      else if (BOOLEAN_FLAGS.has(name) || name.startsWith('no-')) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new UnknownCommand(`argument --${name}: expected one argument`);
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else {
      words.push(arg);
    }
  }
  const command = COMMANDS.find((c) => c.every((word, i) => words[i] === word));
  if (!command) throw new UnknownCommand(`the fake does not know \`gcloud ${words.join(' ')}\``);
  return { command, positional: words.slice(command.length), flags };
}

export function flag(inv: Invocation, name: string): string | undefined {
  return inv.flags.get(name)?.at(-1);
}
