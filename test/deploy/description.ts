// @ts-expect-error plain ESM helper without types
import { description, envOf, render } from '../../scripts/deploy-config.mjs';

export interface RenderedDescription {
  /** The Knative Service document, placeholders filled in. */
  doc: {
    metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
    spec: {
      template: {
        metadata: { annotations: Record<string, string> };
        spec: {
          serviceAccountName: string;
          containerConcurrency: number;
          timeoutSeconds: number;
          containers: {
            image: string;
            ports: { containerPort: number }[];
            resources: { limits: Record<string, string> };
            env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
            startupProbe: { httpGet: { path: string; port: number } };
            livenessProbe: { httpGet: { path: string; port: number } };
          }[];
        };
      };
    };
  };
  text: string;
  /** Plain env values by variable. */
  values: Record<string, string>;
  /** Secret Manager secret name by variable. */
  secrets: Record<string, string>;
}

/** deploy/service.yaml as cloudbuild.yaml renders it (scripts/deploy-config.mjs), for a test project. */
export function renderedEnv(options: {
  projectId: string;
  projectNumber?: string;
  image?: string;
}): RenderedDescription {
  const { text, doc } = render(description(), {
    PROJECT_ID: options.projectId,
    PROJECT_NUMBER: options.projectNumber ?? '123456789012',
    IMAGE: options.image ?? `europe-west1-docker.pkg.dev/${options.projectId}/entitlements/marketplace-entitlements:t1`,
  }) as { text: string; doc: RenderedDescription['doc'] };
  const { values, secrets } = envOf(doc) as Pick<RenderedDescription, 'values' | 'secrets'>;
  return { doc, text, values, secrets };
}
