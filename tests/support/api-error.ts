import { expect } from 'vitest';
import { ApiError } from '../../lib/platform/errors.js';

/** The ApiError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function apiErrorOf(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}
