import { loadSettings } from "./config";
import { createStack } from "./program";

// Config is validated in full before the first resource is declared: a bad value stops here.
const outputs = createStack(loadSettings());

export const endpoint = outputs.endpoint;
export const arm64Endpoint = outputs.arm64Endpoint;
export const tlsServerName = outputs.tlsServerName;
export const podEndpoints = outputs.podEndpoints;
export const serverTlsSecret = outputs.serverTlsSecret;
export const clientTlsSecret = outputs.clientTlsSecret;
export const caCertPem = outputs.caCertPem;
export const caNotAfter = outputs.caNotAfter;
export const serverCertNotAfter = outputs.serverCertNotAfter;
export const clientCertNotAfter = outputs.clientCertNotAfter;
export const runnerLabel = outputs.runnerLabel;
