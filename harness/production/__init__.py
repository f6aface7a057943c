"""Production tools: the only tiersync commands that talk to real Stripe and Clerk.

`tiersync preflight` reads the account, the instance, the app's settings and its URL (read-only);
`tiersync smoke` probes the deployed webhook receiver. Both default to the real services' base URLs and
take `--stripe-api-base` / `--clerk-api-url`, which is how the tests aim them at the simulators."""
