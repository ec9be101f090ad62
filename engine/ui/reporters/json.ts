// `--format json`: every run event as one JSON line, for tools.
import type { Reporter, RunEvent } from '../../apply/events.js';

export class JsonLinesReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  emit(event: RunEvent): void {
    this.out.write(JSON.stringify(event) + '\n');
  }
}
