import { z } from 'zod';
import { MAX_TOKEN_LENGTH } from '../../common/security/jwt/jwt-verifier.js';
import { isResourceId } from '../procurement/resource-names.js';
import { SIGNUP_TOKEN_FIELD } from './signup.settings.js';

/** The form Google's page makes the browser post (other fields, if any, are ignored). */
export const signupForm = z.looseObject({
  [SIGNUP_TOKEN_FIELD]: z.string().min(1, 'required').max(MAX_TOKEN_LENGTH),
});

/**
 * The product backend's link call. `userId` is the product's own user id (subject key `user:<id>`): printable
 * ASCII without spaces, so it reads the same in logs, keys and the product's database. `orderIds` (optional)
 * names the orders (`google.orders` of the sign-up token, `Entitlement.orderId`) this user takes; without it
 * the whole account is linked.
 */
export const linkRequest = z.strictObject({
  linkToken: z.string().min(1).max(1024),
  userId: z.string().regex(/^[\x21-\x7e]{1,256}$/, 'printable ASCII without spaces, at most 256 characters'),
  orderIds: z
    .array(z.string().refine(isResourceId, 'not an order id'))
    .min(1)
    .max(100)
    .transform((ids) => [...new Set(ids)])
    .optional(),
});
