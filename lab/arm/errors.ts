// Azure's error vocabulary for the lab's ARM endpoint: every failure leaves as
// `{"error":{"code","message"}}` with the HTTP status a real ARM front door would use.
import { ArmError } from './contract.js';

export function resourceNotFound(resourceGroup: string, managedInstance: string, name: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.Sql/managedInstances/${managedInstance}/distributedAvailabilityGroups/${name}' ` +
      `under resource group '${resourceGroup}' was not found.`,
  );
}

export function parentNotFound(resourceGroup: string, managedInstance: string): ArmError {
  return new ArmError(
    404,
    'ParentResourceNotFound',
    `Can not perform requested operation on nested resource. Parent resource ` +
      `'Microsoft.Sql/managedInstances/${managedInstance}' under resource group '${resourceGroup}' was not found.`,
  );
}

export function invalidContent(message: string): ArmError {
  return new ArmError(400, 'InvalidRequestContent', message);
}

/**
 * The HTTP status an operation that failed with `code` reports on its OperationResults URL.
 * Backend failures carry their own status; injected `lroFails` faults carry only a code, so the
 * status follows the code families in the facts file (4xx keeps the client from retrying).
 */
export function statusForCode(code: string): number {
  if (code === 'ResourceNotFound') return 404;
  if (code === 'SubscriptionTooManyRequests') return 429;
  if (code === 'OperationTimedOut' || code === 'InternalServerError') return 500;
  if (
    code.startsWith('DistributedAvailabilityGroup') ||
    ['ConflictingServerOperation', 'ManagedInstanceIsBusy', 'OperationInterrupted', 'OperationCancelled'].includes(code)
  ) {
    return 409;
  }
  return 400;
}

export function toArmError(err: unknown): ArmError {
  if (err instanceof ArmError) return err;
  // Anything else is a bug in the lab; the caller sees a generic 500 like Azure's, never a stack.
  return new ArmError(500, 'InternalServerError', 'An unexpected error occurred while processing the request.');
}

export function errorBody(err: ArmError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } };
}
