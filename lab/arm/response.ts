// What a handler answers; the server turns it into bytes with Azure's standard headers.
export interface ArmResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
