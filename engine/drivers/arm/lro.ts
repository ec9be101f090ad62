// Following an Azure long-running operation (api-version 2025-01-01 link actions): the initial
// answer is 200 (done), 202 with Azure-AsyncOperation (poll it, read `status`) and/or Location
// (202 while running, 200/204 when done), honouring Retry-After.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlManagementClient } from '@azure/arm-sql';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import { OutcomeUnknown } from '../../core/errors.js';
import { sentence } from '../../core/sentence.js';
import { ArmOperationFailed, errorFromResponse, parseArmErrorBody } from './errors.js';
import { sendRaw } from './client.js';

/** How polls are spaced, and what stops them. */
export interface PollTiming {
  /** Least time between polls, in ms (default 2000). A larger Retry-After wins. */
  pollIntervalMs?: number;
  /** Upper bound on any wait, Retry-After included (tests and drills). */
  maxPollDelayMs?: number;
  signal?: AbortSignal;
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export function nextDelay(retryAfterMs: number | undefined, options: PollTiming): number {
  const wanted = Math.max(options.pollIntervalMs ?? 2000, retryAfterMs ?? 0);
  return options.maxPollDelayMs === undefined ? wanted : Math.min(wanted, options.maxPollDelayMs);
}

export function httpLabel(response: PipelineResponse): string {
  const code = parseArmErrorBody(response.bodyAsText)?.code;
  return `HTTP ${response.status}${code ? ` ${code}` : ''}`;
}

/** Statuses of a status poll that say nothing about the operation it asks after. */
const POLL_NOT_ANSWERED = new Set([401, 403, 429]);

/**
 * Polls a 202's operation (Azure-AsyncOperation, else Location, each followed verbatim) until it
 * ends; returns the number of polls. Throws ArmOperationFailed on failure, OutcomeUnknown on an
 * interruption or a poll ARM did not answer.
 */
export async function followOperation(
  client: SqlManagementClient,
  accepted: PipelineResponse,
  what: string,
  options: PollTiming,
  onPoll: (status: string, polls: number) => void,
): Promise<number> {
  const asyncUrl = accepted.headers.get('azure-asyncoperation') ?? accepted.headers.get('operation-location');
  const location = accepted.headers.get('location');
  const url = asyncUrl ?? location;
  if (!url) return 0;
  const unknown = (why: string) =>
    new OutcomeUnknown(`${why} while Azure was running ${what}; it may still complete. Check the link before doing anything else.`);
  let retryAfter = parseRetryAfter(accepted.headers.get('retry-after'));
  for (let polls = 1; ; polls++) {
    try {
      await sleep(nextDelay(retryAfter, options), undefined, { signal: options.signal });
    } catch {
      throw unknown('Interrupted');
    }
    let res: PipelineResponse;
    try {
      res = await sendRaw(client, { method: 'GET', url, signal: options.signal });
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') throw unknown('Interrupted');
      throw unknown(`Lost contact with ARM (${sentence((error as Error).message)})`);
    }
    retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    if (res.status >= 500) throw unknown(`ARM answered a status poll with ${httpLabel(res)}`);
    // Throttled (after the pipeline's own retries) or its credentials refused: an answer about the
    // poll, not the operation's failure (which is a 200 with status Failed, or the Location URL's
    // error answer: MicrosoftDocs/azure-docs async-operations.md).
    if (POLL_NOT_ANSWERED.has(res.status)) throw unknown(`ARM answered a status poll with ${httpLabel(res)}`);
    if (res.status >= 400) {
      const failed = errorFromResponse(res.status, res.bodyAsText, what);
      throw new ArmOperationFailed(res.status, failed.code, `Azure reported that ${what} failed: ${failed.code}.${tail(res.bodyAsText)}`, failed.azureMessage);
    }
    if (asyncUrl) {
      const status = readStatus(res.bodyAsText);
      const s = status.toLowerCase();
      if (s === 'succeeded') return polls;
      if (s === 'failed' || s === 'canceled' || s === 'cancelled') {
        const err = parseArmErrorBody(res.bodyAsText);
        const code = err?.code ?? (s === 'failed' ? 'OperationFailed' : 'OperationCanceled');
        throw new ArmOperationFailed(
          res.status,
          code,
          `Azure reported that ${what} ${s === 'failed' ? 'failed' : 'was canceled'}: ${code}.${tail(res.bodyAsText)}`,
          err?.message ?? '',
        );
      }
      onPoll(status, polls);
    } else {
      if (res.status !== 202) return polls;
      onPoll('202', polls);
    }
  }
}

function readStatus(bodyText: string | null | undefined): string {
  try {
    const status = (JSON.parse(bodyText ?? '{}') as { status?: unknown }).status;
    return typeof status === 'string' ? status : 'InProgress';
  } catch {
    return 'InProgress';
  }
}

function tail(bodyText: string | null | undefined): string {
  const message = parseArmErrorBody(bodyText)?.message;
  return message ? ` ${sentence(message)}` : '';
}
