/**
 * The `entitlements.list` filter language (AIP-160 subset the Procurement API documents):
 * `attr=value`, `attr!=value`, `consumers.project:value`, double-quoted values, `AND`, `OR`, `NOT`,
 * parentheses, and an implicit `AND` between juxtaposed terms. As in AIP-160, `OR` binds tighter than `AND`.
 */
import { errors, fail, ok, type Result } from './errors.js';
import { ENTITLEMENT_STATES, lastSegment, type Entitlement } from './types.js';

export type EntitlementPredicate = (entitlement: Entitlement) => boolean;

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'op'; text: '=' | '!=' | ':' }
  | { kind: '(' | ')' };

class FilterError extends Error {}

const SCALAR_ATTRIBUTES: Record<string, (e: Entitlement) => string | undefined> = {
  account: (e) => e.account,
  plan: (e) => e.plan,
  newPendingPlan: (e) => e.newPendingPlan,
  new_pending_plan: (e) => e.newPendingPlan,
  product: (e) => e.product,
  product_external_name: (e) => e.productExternalName,
  quote_external_name: (e) => e.quoteExternalName,
  offer: (e) => e.offer,
  new_pending_offer: (e) => e.newPendingOffer,
  state: (e) => e.state,
};

/** Documented by Google but not modelled by the fake: refused loudly rather than matched wrongly. */
const UNMODELLED_ATTRIBUTES = new Set(['customer_billing_account', 'services', 'change_history.new_offer']);

export function parseEntitlementFilter(filter: string | undefined): Result<EntitlementPredicate> {
  if (filter === undefined || filter.trim() === '') return ok(() => true);
  try {
    const parser = new Parser(tokenize(filter));
    return ok(parser.parseAll());
  } catch (error) {
    if (error instanceof FilterError) return fail(errors.invalidArgument(`Invalid filter: ${error.message}`));
    throw error;
  }
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const char = input[i] as string;
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: char });
      i += 1;
    } else if (char === '"') {
      const end = input.indexOf('"', i + 1);
      if (end < 0) throw new FilterError('unterminated quoted value');
      tokens.push({ kind: 'string', text: input.slice(i + 1, end) });
      i = end + 1;
    } else if (input.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: '!=' });
      i += 2;
    } else if (char === '=' || char === ':') {
      tokens.push({ kind: 'op', text: char });
      i += 1;
    } else {
      const word = /^[^\s()"=!:]+/.exec(input.slice(i))?.[0];
      if (!word) throw new FilterError(`unexpected character '${char}'`);
      tokens.push({ kind: 'word', text: word });
      i += word.length;
    }
  }
  return tokens;
}

class Parser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  parseAll(): EntitlementPredicate {
    const predicate = this.parseExpression();
    if (this.peek()) throw new FilterError('unexpected trailing input');
    return predicate;
  }

  private parseExpression(): EntitlementPredicate {
    const parts = [this.parseSequence()];
    while (this.peekKeyword('AND')) {
      this.position += 1;
      parts.push(this.parseSequence());
    }
    return allOf(parts);
  }

  private parseSequence(): EntitlementPredicate {
    const parts = [this.parseFactor()];
    while (this.startsTerm()) parts.push(this.parseFactor());
    return allOf(parts);
  }

  private parseFactor(): EntitlementPredicate {
    const parts = [this.parseTerm()];
    while (this.peekKeyword('OR')) {
      this.position += 1;
      parts.push(this.parseTerm());
    }
    return (e) => parts.some((part) => part(e));
  }

  private parseTerm(): EntitlementPredicate {
    if (this.peekKeyword('NOT')) {
      this.position += 1;
      const inner = this.parseSimple();
      return (e) => !inner(e);
    }
    return this.parseSimple();
  }

  private parseSimple(): EntitlementPredicate {
    const token = this.next();
    if (token?.kind === '(') {
      const inner = this.parseExpression();
      if (this.next()?.kind !== ')') throw new FilterError('missing closing parenthesis');
      return inner;
    }
    if (token?.kind !== 'word') throw new FilterError('expected an attribute');
    const operator = this.next();
    if (operator?.kind !== 'op') throw new FilterError(`expected an operator after '${token.text}'`);
    const value = this.next();
    if (value?.kind !== 'word' && value?.kind !== 'string') {
      throw new FilterError(`expected a value for '${token.text}'`);
    }
    return restriction(token.text, operator.text, value.text);
  }

  private startsTerm(): boolean {
    const token = this.peek();
    return token !== undefined && token.kind !== ')' && !this.peekKeyword('AND') && !this.peekKeyword('OR');
  }

  private peekKeyword(keyword: 'AND' | 'OR' | 'NOT'): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.text === keyword;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private next(): Token | undefined {
    const token = this.tokens[this.position];
    this.position += 1;
    return token;
  }
}

function allOf(parts: EntitlementPredicate[]): EntitlementPredicate {
  return parts.length === 1 && parts[0] ? parts[0] : (e) => parts.every((part) => part(e));
}

function restriction(attribute: string, operator: '=' | '!=' | ':', value: string): EntitlementPredicate {
  if (attribute === 'consumers.project') {
    // Repeated fields only support set membership, per the API's filter documentation.
    if (operator !== ':') throw new FilterError(`'consumers.project' supports only the ':' operator`);
    return (e) => (e.consumers ?? []).some((consumer) => consumer.project === value);
  }
  if (UNMODELLED_ATTRIBUTES.has(attribute)) {
    throw new FilterError(`attribute '${attribute}' is not supported by the fake`);
  }
  const read = SCALAR_ATTRIBUTES[attribute];
  if (!read) throw new FilterError(`unknown attribute '${attribute}'`);
  const matches = scalarMatcher(attribute, read, value);
  return operator === '!=' ? (e) => !matches(e) : matches;
}

function scalarMatcher(
  attribute: string,
  read: (e: Entitlement) => string | undefined,
  value: string,
): EntitlementPredicate {
  if (attribute === 'state') {
    const state = normalizeState(value);
    return (e) => e.state === state;
  }
  if (attribute === 'account') {
    // Accepts a bare account id or a full `providers/{p}/accounts/{id}` name.
    const accountId = lastSegment(value);
    return (e) => e.account !== undefined && lastSegment(e.account) === accountId;
  }
  return (e) => read(e) === value;
}

function normalizeState(value: string): string {
  const upper = value.toUpperCase();
  const state = upper.startsWith('ENTITLEMENT_') ? upper : `ENTITLEMENT_${upper}`;
  if (!(ENTITLEMENT_STATES as readonly string[]).includes(state)) throw new FilterError(`unknown state '${value}'`);
  return state;
}
