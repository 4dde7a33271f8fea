// The value checks are shared by every text-rendering BGP adapter: one definition in @ft/bgp-common.
export * from '@ft/bgp-common/validate';
