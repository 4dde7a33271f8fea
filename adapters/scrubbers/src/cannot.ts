import type { RenderedCommand } from '@ft/sdk';

/** A rule the vendor cannot express: the reason, for preview (render) and for apply's error. */
export class CannotExpress extends Error {
  constructor(
    readonly adapter: string,
    reason: string,
  ) {
    super(`${adapter} cannot: ${reason}`);
    this.name = 'CannotExpress';
  }
  render(): RenderedCommand[] {
    return [{ adapter: this.adapter, format: 'text', text: this.message }];
  }
}
