#!/usr/bin/env bash
# One-time (and re-runnable) Google Cloud set-up for the marketplace entitlements service:
# APIs, service accounts and IAM, Artifact Registry, Firestore (indexes, TTL), the Marketplace
# subscription (pull or push with OIDC; never expiring; dead-letter topic), the change-events
# topic, secrets, and Cloud Scheduler jobs. Idempotent: every resource is created only if missing.
#
#   scripts/setup-gcp.sh --project my-proj --provider-id my-provider [--push https://SERVICE_URL] [--dry-run]
#
# --dry-run prints every command it would run (nothing is called, no credentials needed).
set -euo pipefail

PROJECT="" PROVIDER_ID="" REGION="europe-west1" SERVICE="marketplace-entitlements" REPOSITORY="entitlements"
PUSH_URL="" DRY_RUN=0 MAX_DELIVERY_ATTEMPTS=10
usage() { sed -n '2,10p' "$0"; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --project) PROJECT="$2"; shift 2 ;;
    --provider-id) PROVIDER_ID="$2"; shift 2 ;;
    --region) REGION="$2"; shift 2 ;;
    --service) SERVICE="$2"; shift 2 ;;
    --push) PUSH_URL="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
[ -n "$PROJECT" ] && [ -n "$PROVIDER_ID" ] || { echo "--project and --provider-id are required" >&2; usage; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNTIME_SA="entitlements-runtime@${PROJECT}.iam.gserviceaccount.com"
PUSH_SA="entitlements-push@${PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA="entitlements-scheduler@${PROJECT}.iam.gserviceaccount.com"
MARKETPLACE_TOPIC="projects/cloudcommerceproc-prod/topics/${PROVIDER_ID}"
SUBSCRIPTION="marketplace-${SERVICE}"
DLQ_TOPIC="marketplace-dead-letter"
CHANGES_TOPIC="entitlement-changes"
SECRETS=(purchasely-secrets easycart-signing-keys getcourse-path-token marketplace-link-secret link-api-keys admin-api-keys)

run() {
  if [ "$DRY_RUN" = 1 ]; then printf '+'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}
# ensure "<describe command>" <create command…>: create only when describe fails.
ensure() {
  local check="$1"; shift
  if [ "$DRY_RUN" = 1 ]; then printf '+ %s ||' "$check"; printf ' %q' "$@"; printf '\n'; return; fi
  if ! eval "$check" >/dev/null 2>&1; then "$@"; fi
}
g() { run gcloud --project="$PROJECT" "$@"; }
gq="gcloud --project=$PROJECT --quiet"

echo "# APIs"
g services enable run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com \
  firestore.googleapis.com pubsub.googleapis.com secretmanager.googleapis.com cloudscheduler.googleapis.com \
  cloudcommerceprocurement.googleapis.com

echo "# Service accounts"
for sa in entitlements-runtime entitlements-push entitlements-scheduler; do
  ensure "$gq iam service-accounts describe ${sa}@${PROJECT}.iam.gserviceaccount.com" \
    gcloud --project="$PROJECT" iam service-accounts create "$sa" --display-name="Entitlements: ${sa#entitlements-}"
done
for role in roles/datastore.user roles/pubsub.subscriber roles/pubsub.publisher roles/secretmanager.secretAccessor roles/logging.logWriter; do
  g projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${RUNTIME_SA}" --role="$role" --condition=None --quiet
done

echo "# Artifact Registry"
ensure "$gq artifacts repositories describe $REPOSITORY --location=$REGION" \
  gcloud --project="$PROJECT" artifacts repositories create "$REPOSITORY" --repository-format=docker --location="$REGION"

echo "# Firestore: database, composite indexes (firestore.indexes.json), TTL policies"
ensure "$gq firestore databases describe --database='(default)'" \
  gcloud --project="$PROJECT" firestore databases create --location="$REGION" --type=firestore-native
node -e '
  const f = require(process.argv[1]);
  for (const i of f.indexes) {
    const fields = i.fields.map((x) => `--field-config=field-path=${x.fieldPath},order=${x.order.toLowerCase()}`).join(" ");
    console.log(`${i.collectionGroup} ${fields}`);
  }' "$ROOT/firestore.indexes.json" | while read -r group fields; do
  # Creating an existing index fails with ALREADY_EXISTS: harmless on a re-run.
  # shellcheck disable=SC2086
  run gcloud --project="$PROJECT" firestore indexes composite create --collection-group="$group" $fields --async --quiet || true
done
node -e '
  const f = require(process.argv[1]);
  for (const o of f.fieldOverrides.filter((o) => o.ttl)) console.log(`${o.collectionGroup} ${o.fieldPath}`);' \
  "$ROOT/firestore.indexes.json" | while read -r group field; do
  g firestore fields ttls update "$field" --collection-group="$group" --enable-ttl --async --quiet
done

echo "# Pub/Sub: dead-letter topic, change-events topic, the Marketplace subscription"
PROJECT_NUMBER=$([ "$DRY_RUN" = 1 ] && echo PROJECT_NUMBER || gcloud projects describe "$PROJECT" --format='value(projectNumber)')
PUBSUB_AGENT="service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
for topic in "$DLQ_TOPIC" "$CHANGES_TOPIC"; do
  ensure "$gq pubsub topics describe $topic" gcloud --project="$PROJECT" pubsub topics create "$topic"
done
ensure "$gq pubsub subscriptions describe ${DLQ_TOPIC}-sub" \
  gcloud --project="$PROJECT" pubsub subscriptions create "${DLQ_TOPIC}-sub" --topic="$DLQ_TOPIC" --expiration-period=never
g pubsub topics add-iam-policy-binding "$DLQ_TOPIC" --member="serviceAccount:${PUBSUB_AGENT}" --role=roles/pubsub.publisher
COMMON_SUB=(--topic="$MARKETPLACE_TOPIC" --expiration-period=never --dead-letter-topic="$DLQ_TOPIC"
  --max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS" --min-retry-delay=10s --max-retry-delay=600s)
if [ -n "$PUSH_URL" ]; then
  ensure "$gq pubsub subscriptions describe $SUBSCRIPTION" \
    gcloud --project="$PROJECT" pubsub subscriptions create "$SUBSCRIPTION" "${COMMON_SUB[@]}" --ack-deadline=600 \
    --push-endpoint="${PUSH_URL}/marketplace/push" --push-auth-service-account="$PUSH_SA" \
    --push-auth-token-audience="${PUSH_URL}/marketplace/push"
  g run services add-iam-policy-binding "$SERVICE" --region="$REGION" --member="serviceAccount:${PUSH_SA}" --role=roles/run.invoker
else
  ensure "$gq pubsub subscriptions describe $SUBSCRIPTION" \
    gcloud --project="$PROJECT" pubsub subscriptions create "$SUBSCRIPTION" "${COMMON_SUB[@]}" --ack-deadline=60
fi
g pubsub subscriptions add-iam-policy-binding "$SUBSCRIPTION" --member="serviceAccount:${PUBSUB_AGENT}" --role=roles/pubsub.subscriber

echo "# Secrets (values are added separately: gcloud secrets versions add NAME --data-file=-)"
for secret in "${SECRETS[@]}"; do
  ensure "$gq secrets describe $secret" gcloud --project="$PROJECT" secrets create "$secret" --replication-policy=automatic
done

echo "# Cloud Scheduler: lifecycle triggers (OIDC as the scheduler service account)"
if [ -n "$PUSH_URL" ]; then SERVICE_URL="$PUSH_URL"; else SERVICE_URL="https://SERVICE_URL"; fi
g run services add-iam-policy-binding "$SERVICE" --region="$REGION" --member="serviceAccount:${SCHEDULER_SA}" --role=roles/run.invoker
for job in "expire|*/15 * * * *" "expiring|0 * * * *" "reconcile|17 * * * *" "publish-outbox|* * * * *"; do
  name="${job%%|*}" schedule="${job#*|}"
  ensure "$gq scheduler jobs describe entitlements-${name} --location=$REGION" \
    gcloud --project="$PROJECT" scheduler jobs create http "entitlements-${name}" --location="$REGION" \
    --schedule="$schedule" --http-method=POST --uri="${SERVICE_URL}/lifecycle/v1/${name}" \
    --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="${SERVICE_URL}/lifecycle/v1"
done

cat <<NEXT
# Done. By hand, once:
#  - Producer Portal → Technical integration: link ${RUNTIME_SA} for the Procurement API and for Pub/Sub
#    (create the subscription while authenticated as that account if Google's topic refuses it).
#  - Add secret values: printf %s "\$VALUE" | gcloud secrets versions add purchasely-secrets --data-file=-
#  - Cloud Build trigger with substitutions _PROVIDER_ID=${PROVIDER_ID} (see cloudbuild.yaml).
NEXT
