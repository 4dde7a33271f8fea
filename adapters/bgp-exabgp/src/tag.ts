// The ownership tag is shared by every text-rendering BGP adapter: one definition in @ft/bgp-common.
export * from '@ft/bgp-common/tag';
