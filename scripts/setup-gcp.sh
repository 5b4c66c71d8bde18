#!/usr/bin/env bash
# Brings a Google Cloud project to what the service needs, and keeps it there: APIs, service accounts and IAM,
# Artifact Registry, Firestore (database, indexes, TTL policies, exemptions), Pub/Sub (the Marketplace subscription,
# the dead-letter and change-event topics), Secret Manager, Cloud Scheduler, usage-reporting access, monitoring.
# Names come from deploy/service.yaml (the Cloud Run service description), config/products.yaml,
# firestore.indexes.json and deploy/monitoring/.
#
#   scripts/setup-gcp.sh --project my-project [--dry-run]
#
# Converges: each step checks first and changes only what differs, then checks again. Run it on an empty project,
# deploy (docs/operations.md, "Deploy"), then run it again: the second run points the Scheduler jobs and the push
# endpoint at the deployed service. Any later run changes nothing unless something drifted. A step that fails stops
# the script with one line; steps that wait on Google's partner team are listed as PENDING and the script goes on.
# --dry-run runs the read-only checks (when gcloud is on PATH) and prints the commands the other steps would run.
set -euo pipefail

PROJECT="" DRY_RUN=0 REPOSITORY="entitlements"
usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --project) PROJECT="${2:-}"; shift 2 ;;
    --project=*) PROJECT="${1#*=}"; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
[ -n "$PROJECT" ] || { echo "--project is required" >&2; usage; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
NO_GCLOUD=0
if ! command -v gcloud >/dev/null 2>&1; then
  [ "$DRY_RUN" = 1 ] || { echo "FAILED   gcloud is not on PATH (install the Google Cloud CLI)" >&2; exit 1; }
  NO_GCLOUD=1
fi
command -v node >/dev/null 2>&1 || { echo "FAILED   node is not on PATH (npm ci, then PATH=\$PWD/node_modules/.bin:\$PATH)" >&2; exit 1; }

# ------------------------------------------------------------------------------------------------ helpers
CURRENT="" OUT="" ERR="" PENDING=() SKIPPED=() EMPTY_SECRETS=()
# gcloud's wording for a resource that does not exist, per command family.
MISSING='NOT_FOUND|not found|Cannot find|does not exist|Unknown service account'

ok() { printf 'ok       %s\n' "$1"; }
die() {
  printf 'FAILED   %s\n' "$1" >&2
  exit 1
}
error_line() { grep -E '^ERROR' "$1" | tail -n 1 || tail -n 1 "$1"; }
shown() { # an argument as a shell would need it
  if [[ "$1" =~ ^[A-Za-z0-9@%+=:,./_-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

# q ARGS: a read-only gcloud call; its stdout in $OUT. Returns 1 when the resource does not exist (or, in a dry run
# without gcloud, always); any other failure stops the script with gcloud's own error line.
q() {
  OUT=""
  [ "$NO_GCLOUD" = 0 ] || return 1
  if gcloud --project="$PROJECT" --quiet "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; then
    OUT="$(cat "$TMP/out")"
    return 0
  fi
  grep -qiE "$MISSING" "$TMP/err" && return 1
  # A dry run enables nothing: what sits behind an API that is still off counts as missing.
  [ "$DRY_RUN" = 1 ] && grep -qE 'has not been used in project|SERVICE_DISABLED' "$TMP/err" && return 1
  die "${CURRENT:-gcloud $1 $2}: $(error_line "$TMP/err")"
}

# w ARGS: a gcloud call that changes something; printed instead in a dry run. On failure: 1, and $ERR.
w() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ gcloud --project=%s' "$(shown "$PROJECT")"
    for arg in "$@"; do printf ' %s' "$(shown "$arg")"; done
    printf '\n'
    return 0
  fi
  if gcloud --project="$PROJECT" --quiet "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; then return 0; fi
  ERR="$(error_line "$TMP/err")"
  return 1
}

# step WHAT CHECK APPLY [HINT]: nothing when CHECK passes; else APPLY, then CHECK again. With a HINT the step is
# soft (it waits on Google): a failure is listed as PENDING and the script goes on.
step() {
  local what="$1" check="$2" apply="$3" hint="${4:-}"
  CURRENT="$what"
  if "$check"; then
    ok "$what"
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would    %s\n' "$what"
    "$apply"
    return 0
  fi
  ERR=""
  if ! "$apply"; then
    if [ -n "$hint" ]; then
      printf 'PENDING  %s: %s\n         %s\n' "$what" "$ERR" "$hint"
      PENDING+=("$what")
      return 1
    fi
    die "$what: $ERR"
  fi
  "$check" || die "$what: applied, but a second check still finds it different"
  printf 'changed  %s\n' "$what"
}

skip() {
  printf 'skipped  %s\n' "$1"
  SKIPPED+=("$1")
}

# Bindings: has_binding KIND NAME [FLAGS...] -- checks $ROLE for $MEMBER on one resource.
has_binding() {
  local kind="$1"
  shift
  q $kind get-iam-policy "$@" --flatten='bindings[].members' \
    --filter="bindings.role='$ROLE' AND bindings.members='$MEMBER'" --format='value(bindings.role)' && [ -n "$OUT" ]
}
# bind WHAT KIND NAME [FLAGS...]: converges one IAM binding ($ROLE for $MEMBER).
bind() {
  local what="$1"
  shift
  BIND_ARGS=("$@")
  step "$what" _bind_check _bind_apply
}
_bind_check() { has_binding "${BIND_ARGS[@]}"; }
_bind_apply() {
  local kind="${BIND_ARGS[0]}"
  local extra=()
  [ "$kind" = projects ] && extra=(--condition=None)
  # (the ${x[@]+...} form: bash 3.2, macOS's, refuses an empty "${x[@]}" under set -u)
  w $kind add-iam-policy-binding "${BIND_ARGS[@]:1}" --member="$MEMBER" --role="$ROLE" ${extra[@]+"${extra[@]}"}
}

# ------------------------------------------------------------------------------------------------ facts
echo "# Project $PROJECT"
CURRENT="project $PROJECT"
if q projects describe "$PROJECT" --format='value(projectNumber)'; then PROJECT_NUMBER="$OUT"
elif [ "$NO_GCLOUD" = 1 ]; then PROJECT_NUMBER="PROJECT_NUMBER"
else die "project $PROJECT not found (or no permission to see it)"; fi

facts="$(node "$ROOT/scripts/deploy-config.mjs" facts --project "$PROJECT" --project-number "$PROJECT_NUMBER")" ||
  die "deploy/service.yaml could not be read"
while IFS='=' read -r key value; do
  case "$key" in
    SERVICE | REGION | RUNTIME_SA | PROVIDER_ID | SUBSCRIPTION | PUSH_AUDIENCE | PUSH_SA | SCHEDULER_AUDIENCE | \
      SCHEDULER_SA | CHANGES_TOPIC | SECRETS | MARKETPLACE_SERVICES) printf -v "$key" '%s' "$value" ;;
  esac
done <<<"$facts"
[ -n "$RUNTIME_SA" ] && [ -n "$PROVIDER_ID" ] || die "deploy/service.yaml: serviceAccountName and MARKETPLACE_PROVIDER_ID are required"
[ -n "$SUBSCRIPTION" ] || [ -n "$PUSH_AUDIENCE" ] || die "deploy/service.yaml: set MARKETPLACE_SUBSCRIPTION (pull) or PUSH_AUDIENCE (push)"
DEPLOYER_SA="entitlements-deployer@${PROJECT}.iam.gserviceaccount.com"
MARKETPLACE_TOPIC="projects/cloudcommerceproc-prod/topics/${PROVIDER_ID}"
[ -n "$SUBSCRIPTION" ] || SUBSCRIPTION="marketplace-events"
DLQ_TOPIC="marketplace-dead-letter"
MAX_DELIVERY_ATTEMPTS=10
PUBSUB_AGENT="service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
CALLER="$( [ "$NO_GCLOUD" = 1 ] && echo 'you@example.com' || gcloud config get-value account 2>/dev/null)"
[ -n "$CALLER" ] || die "no active gcloud account (gcloud auth login)"
case "$CALLER" in *.gserviceaccount.com) CALLER_MEMBER="serviceAccount:$CALLER" ;; *) CALLER_MEMBER="user:$CALLER" ;; esac
# The Scheduler jobs: name, schedule (UTC). docs/lifecycle.md lists the same (test/deploy/setup-gcp.spec.ts).
JOBS=$'expire|*/15 * * * *\nexpiring|5 * * * *\nreconcile|20 * * * *\ncheck-decisions|40 * * * *\npublish-outbox|* * * * *\nreport-usage|2 * * * *'

# ------------------------------------------------------------------------------------------------ APIs
echo "# APIs"
APIS=(run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com firestore.googleapis.com
  pubsub.googleapis.com secretmanager.googleapis.com cloudscheduler.googleapis.com iam.googleapis.com
  iamcredentials.googleapis.com servicecontrol.googleapis.com logging.googleapis.com monitoring.googleapis.com)
missing_apis=()
apis_check() {
  missing_apis=()
  q services list --enabled --format='value(config.name)' || true
  for api in "$@"; do grep -qxF "$api" <<<"$OUT" || missing_apis+=("$api"); done
  [ ${#missing_apis[@]} -eq 0 ]
}
_apis_check() { apis_check "${APIS[@]}"; }
_apis_apply() { w services enable "${missing_apis[@]}"; }
step "APIs enabled (${#APIS[@]})" _apis_check _apis_apply
_procurement_check() { apis_check cloudcommerceprocurement.googleapis.com; }
_procurement_apply() { w services enable cloudcommerceprocurement.googleapis.com; }
step "Partner Procurement API enabled" _procurement_check _procurement_apply \
  "Google's partner team grants this API to Marketplace producers; until then the service's Procurement calls fail (events are recorded 'failed' and replayable)." || true

# ------------------------------------------------------------------------------------------------ accounts
echo "# Service accounts and their roles"
ACCOUNTS=("$RUNTIME_SA|runtime: the service" "$SCHEDULER_SA|Cloud Scheduler's OIDC identity" "$DEPLOYER_SA|Cloud Build deploys as it")
[ -n "$PUSH_AUDIENCE" ] && ACCOUNTS+=("$PUSH_SA|Pub/Sub push's OIDC identity")
for entry in "${ACCOUNTS[@]}"; do
  SA="${entry%%|*}" SA_NOTE="${entry#*|}"
  _sa_check() { q iam service-accounts describe "$SA" --format='value(email)'; }
  _sa_apply() { w iam service-accounts create "${SA%%@*}" --display-name="Entitlements: $SA_NOTE"; }
  step "service account $SA" _sa_check _sa_apply
done

MEMBER="serviceAccount:$RUNTIME_SA"
# Firestore; Pub/Sub Editor is what Google asks for the account linked for Pub/Sub in Producer Portal (it creates
# the Marketplace subscription, pulls it, publishes change events).
for ROLE in roles/datastore.user roles/pubsub.editor roles/logging.logWriter; do
  bind "runtime: $ROLE" projects "$PROJECT"
done
MEMBER="serviceAccount:$DEPLOYER_SA"
# run.admin: deploy, and disable the invoker IAM check (deploy/service.yaml); storage.objectViewer: read the source
# that `gcloud builds submit` uploads.
for ROLE in roles/run.admin roles/logging.logWriter roles/storage.objectViewer; do
  bind "deployer: $ROLE" projects "$PROJECT"
done
ROLE=roles/iam.serviceAccountUser
bind "deployer may deploy revisions running as $RUNTIME_SA" "iam service-accounts" "$RUNTIME_SA"
MEMBER="$CALLER_MEMBER" ROLE=roles/iam.serviceAccountTokenCreator
bind "you ($CALLER) may impersonate $RUNTIME_SA (to create the Marketplace subscription)" "iam service-accounts" "$RUNTIME_SA"
if [ -n "$PUSH_AUDIENCE" ]; then
  MEMBER="serviceAccount:$RUNTIME_SA" ROLE=roles/iam.serviceAccountUser
  bind "runtime may attach $PUSH_SA to the push subscription" "iam service-accounts" "$PUSH_SA"
  # Needed in projects created before 2021-04-08 for Pub/Sub to mint push tokens; harmless in newer ones.
  MEMBER="serviceAccount:$PUBSUB_AGENT" ROLE=roles/iam.serviceAccountTokenCreator
  bind "Pub/Sub may sign push tokens as $PUSH_SA" "iam service-accounts" "$PUSH_SA"
fi

# ------------------------------------------------------------------------------------------------ registry
echo "# Artifact Registry"
_repo_check() { q artifacts repositories describe "$REPOSITORY" --location="$REGION" --format='value(name)'; }
_repo_apply() { w artifacts repositories create "$REPOSITORY" --repository-format=docker --location="$REGION"; }
step "Docker repository $REPOSITORY in $REGION" _repo_check _repo_apply
MEMBER="serviceAccount:$DEPLOYER_SA" ROLE=roles/artifactregistry.writer
bind "deployer may push images to $REPOSITORY" "artifacts repositories" "$REPOSITORY" --location="$REGION"

# ------------------------------------------------------------------------------------------------ Firestore
echo "# Firestore: database, composite indexes, TTL policies, index exemptions (firestore.indexes.json)"
_db_check() { q firestore databases describe --database='(default)' --format='value(name)'; }
_db_apply() { w firestore databases create --database='(default)' --location="$REGION" --type=firestore-native; }
step "Firestore database (default) in $REGION" _db_check _db_apply
firestore_plan() {
  q firestore indexes composite list --format=json || true
  printf '%s' "$OUT" >"$TMP/indexes.json"
  q firestore fields ttls list --format=json || true
  printf '%s' "$OUT" >"$TMP/ttls.json"
  q firestore indexes fields list --format=json || true
  printf '%s' "$OUT" >"$TMP/fields.json"
  PLAN="$(node "$ROOT/scripts/deploy-config.mjs" firestore-plan --indexes "$TMP/indexes.json" --ttls "$TMP/ttls.json" \
    --fields "$TMP/fields.json")" || die "$CURRENT: could not compare with firestore.indexes.json"
}
_firestore_check() {
  firestore_plan
  [ -z "$PLAN" ]
}
_firestore_apply() {
  local kind group rest
  while IFS=$'\t' read -r kind group rest; do
    [ -n "$kind" ] || continue
    case "$kind" in
      index)
        local scope="${rest%%$'\t'*}" configs
        IFS=$'\t' read -r -a configs <<<"${rest#*$'\t'}"
        w firestore indexes composite create --collection-group="$group" --query-scope="$scope" "${configs[@]}" --async || return 1 ;;
      ttl) w firestore fields ttls update "$rest" --collection-group="$group" --enable-ttl --async || return 1 ;;
      exempt) w firestore indexes fields update "$rest" --collection-group="$group" --disable-indexes --async || return 1 ;;
    esac
  done <<<"$PLAN"
}
step "Firestore indexes and field settings match firestore.indexes.json" _firestore_check _firestore_apply

# ------------------------------------------------------------------------------------------------ Pub/Sub
echo "# Pub/Sub: dead-letter and change-event topics, the Marketplace subscription"
for TOPIC in "$DLQ_TOPIC" ${CHANGES_TOPIC:+"$CHANGES_TOPIC"}; do
  _topic_check() { q pubsub topics describe "$TOPIC" --format='value(name)'; }
  _topic_apply() { w pubsub topics create "$TOPIC"; }
  step "topic $TOPIC" _topic_check _topic_apply
done
_dlq_sub_check() { q pubsub subscriptions describe "${DLQ_TOPIC}-sub" --format='value(expirationPolicy.ttl)' && [ -z "$OUT" ]; }
_dlq_sub_apply() {
  if q pubsub subscriptions describe "${DLQ_TOPIC}-sub" --format='value(name)'; then
    w pubsub subscriptions update "${DLQ_TOPIC}-sub" --expiration-period=never
  else
    w pubsub subscriptions create "${DLQ_TOPIC}-sub" --topic="$DLQ_TOPIC" --expiration-period=never
  fi
}
step "subscription ${DLQ_TOPIC}-sub (keeps dead letters for a human; never expires)" _dlq_sub_check _dlq_sub_apply
MEMBER="serviceAccount:$PUBSUB_AGENT" ROLE=roles/pubsub.publisher
bind "Pub/Sub may move dead letters to $DLQ_TOPIC" "pubsub topics" "$DLQ_TOPIC"

if [ -n "$PUSH_AUDIENCE" ]; then ACK_DEADLINE=600; else ACK_DEADLINE=60; fi
SUB_SETTINGS=(--ack-deadline="$ACK_DEADLINE" --expiration-period=never --dead-letter-topic="$DLQ_TOPIC"
  --max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS" --min-retry-delay=10s --max-retry-delay=600s)
_mp_sub_check() {
  q pubsub subscriptions describe "$SUBSCRIPTION" --format='value(topic)' || return 1
  [ "$OUT" = "$MARKETPLACE_TOPIC" ] || die "$CURRENT: $SUBSCRIPTION exists but is attached to $OUT"
}
# As the account linked in Producer Portal: Google's topic admits only that account.
_mp_sub_apply() {
  w pubsub subscriptions create "$SUBSCRIPTION" --topic="$MARKETPLACE_TOPIC" "${SUB_SETTINGS[@]}" \
    --impersonate-service-account="$RUNTIME_SA"
}
if step "subscription $SUBSCRIPTION on Google's topic $MARKETPLACE_TOPIC (created as $RUNTIME_SA)" \
  _mp_sub_check _mp_sub_apply \
  "Google's topic admits only the account linked for Pub/Sub in Producer Portal: link $RUNTIME_SA there (Technical integration), wait for Google's Partner Engineer to create the topic, then run this again."; then
  expected_settings="${ACK_DEADLINE}	projects/${PROJECT}/topics/${DLQ_TOPIC}	${MAX_DELIVERY_ATTEMPTS}	10s	600s	"
  _mp_settings_check() {
    q pubsub subscriptions describe "$SUBSCRIPTION" --format='value(ackDeadlineSeconds,deadLetterPolicy.deadLetterTopic,deadLetterPolicy.maxDeliveryAttempts,retryPolicy.minimumBackoff,retryPolicy.maximumBackoff,expirationPolicy.ttl)' &&
      [ "$OUT" = "$expected_settings" ]
  }
  _mp_settings_apply() { w pubsub subscriptions update "$SUBSCRIPTION" "${SUB_SETTINGS[@]}"; }
  step "$SUBSCRIPTION: ack deadline ${ACK_DEADLINE}s, never expires, dead letter after $MAX_DELIVERY_ATTEMPTS attempts, retry 10-600 s" \
    _mp_settings_check _mp_settings_apply
  MEMBER="serviceAccount:$PUBSUB_AGENT" ROLE=roles/pubsub.subscriber
  bind "Pub/Sub may take dead letters off $SUBSCRIPTION" "pubsub subscriptions" "$SUBSCRIPTION"
  MP_SUBSCRIPTION_READY=1
else
  MP_SUBSCRIPTION_READY=0
fi

# ------------------------------------------------------------------------------------------------ secrets
echo "# Secrets (deploy/service.yaml mounts each; values: docs/operations.md, \"Secrets\")"
for SECRET in $SECRETS; do
  _secret_check() { q secrets describe "$SECRET" --format='value(name)'; }
  _secret_apply() { w secrets create "$SECRET" --replication-policy=automatic; }
  step "secret $SECRET" _secret_check _secret_apply
  MEMBER="serviceAccount:$RUNTIME_SA" ROLE=roles/secretmanager.secretAccessor
  bind "runtime may read $SECRET" secrets "$SECRET"
  if ! q secrets versions list "$SECRET" --filter='state=ENABLED' --limit=1 --format='value(name)' || [ -z "$OUT" ]; then
    EMPTY_SECRETS+=("$SECRET")
  fi
done

# ------------------------------------------------------------------------------------------------ usage reporting
echo "# Usage reporting (Service Control) for the Marketplace services in config/products.yaml"
for MP_SERVICE in $MARKETPLACE_SERVICES; do
  MEMBER="serviceAccount:$RUNTIME_SA" ROLE=roles/servicemanagement.serviceController
  _usage_check() { has_binding "endpoints services" "$MP_SERVICE"; }
  _usage_apply() { w endpoints services add-iam-policy-binding "$MP_SERVICE" --member="$MEMBER" --role="$ROLE"; }
  step "runtime may report usage of $MP_SERVICE ($ROLE)" _usage_check _usage_apply \
    "Google creates the service once the listing's pricing draft is submitted; Producer Portal's Billing integration can grant the role too." || true
done

# ------------------------------------------------------------------------------------------------ the service
echo "# The Cloud Run service $SERVICE ($REGION) and what calls it"
CURRENT="service $SERVICE"
SERVICE_URL=""
if q run services describe "$SERVICE" --region="$REGION" --format='value(status.url)' && [ -n "$OUT" ]; then
  SERVICE_URL="$OUT"
  ok "service $SERVICE is deployed at $SERVICE_URL"
fi

if [ -n "$SERVICE_URL" ]; then
  # The service checks every token itself (its invoker IAM check is off, deploy/service.yaml); these bindings keep
  # push and Scheduler working if that check is ever turned back on.
  ROLE=roles/run.invoker
  for INVOKER in "$SCHEDULER_SA" ${PUSH_AUDIENCE:+"$PUSH_SA"}; do
    MEMBER="serviceAccount:$INVOKER"
    bind "$INVOKER may invoke $SERVICE" "run services" "$SERVICE" --region="$REGION"
  done
else
  skip "run.invoker for the Scheduler${PUSH_AUDIENCE:+ and push} account on $SERVICE: the service is not deployed yet"
fi

if [ "$MP_SUBSCRIPTION_READY" = 1 ]; then
  if [ -z "$PUSH_AUDIENCE" ]; then
    _pull_check() { q pubsub subscriptions describe "$SUBSCRIPTION" --format='value(pushConfig.pushEndpoint)' && [ -z "$OUT" ]; }
    _pull_apply() { w pubsub subscriptions modify-push-config "$SUBSCRIPTION" --push-endpoint=""; }
    step "$SUBSCRIPTION delivers by pull (MARKETPLACE_SUBSCRIPTION)" _pull_check _pull_apply
  elif [ -n "$SERVICE_URL" ]; then
    _push_check() {
      q pubsub subscriptions describe "$SUBSCRIPTION" --format='value(pushConfig.pushEndpoint,pushConfig.oidcToken.serviceAccountEmail,pushConfig.oidcToken.audience)' &&
        [ "$OUT" = "${SERVICE_URL}/marketplace/push	${PUSH_SA}	${PUSH_AUDIENCE}" ]
    }
    _push_apply() {
      w pubsub subscriptions modify-push-config "$SUBSCRIPTION" --push-endpoint="${SERVICE_URL}/marketplace/push" \
        --push-auth-service-account="$PUSH_SA" --push-auth-token-audience="$PUSH_AUDIENCE"
    }
    step "$SUBSCRIPTION pushes to ${SERVICE_URL}/marketplace/push as $PUSH_SA" _push_check _push_apply
  else
    skip "$SUBSCRIPTION push endpoint: the service is not deployed yet (messages wait in the subscription)"
  fi
fi

if [ -n "$SERVICE_URL" ]; then
  while IFS='|' read -r JOB SCHEDULE; do
    JOB_ID="entitlements-${JOB}" JOB_URI="${SERVICE_URL}/lifecycle/v1/${JOB}"
    JOB_FLAGS=(--location="$REGION" --schedule="$SCHEDULE" --time-zone=Etc/UTC --uri="$JOB_URI" --http-method=POST
      --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="$SCHEDULER_AUDIENCE" --attempt-deadline=300s)
    _job_check() {
      q scheduler jobs describe "$JOB_ID" --location="$REGION" \
        --format='value(schedule,timeZone,httpTarget.uri,httpTarget.httpMethod,httpTarget.oidcToken.serviceAccountEmail,httpTarget.oidcToken.audience,attemptDeadline)' &&
        [ "$OUT" = "${SCHEDULE}	Etc/UTC	${JOB_URI}	POST	${SCHEDULER_SA}	${SCHEDULER_AUDIENCE}	300s" ]
    }
    _job_apply() {
      if q scheduler jobs describe "$JOB_ID" --location="$REGION" --format='value(name)'; then
        w scheduler jobs update http "$JOB_ID" "${JOB_FLAGS[@]}"
      else
        w scheduler jobs create http "$JOB_ID" "${JOB_FLAGS[@]}"
      fi
    }
    step "Scheduler job $JOB_ID: '$SCHEDULE' UTC → $JOB_URI" _job_check _job_apply
  done <<<"$JOBS"
else
  skip "Cloud Scheduler jobs ($(cut -d'|' -f1 <<<"$JOBS" | paste -sd, -)): they call the service's URL, known once it is deployed"
fi

# ------------------------------------------------------------------------------------------------ monitoring
MONITORING="$(node "$ROOT/scripts/deploy-config.mjs" monitoring)" || die "deploy/monitoring could not be read"
if [ -n "$MONITORING" ]; then
  echo "# Monitoring (deploy/monitoring)"
  while IFS=$'\t' read -r KIND NAME FILE; do
    case "$KIND" in
      metric)
        _metric_check() {
          q logging metrics describe "$NAME" --format=json || return 1
          node "$ROOT/scripts/deploy-config.mjs" same --file "$FILE" --current-json "$OUT"
        }
        _metric_apply() {
          if q logging metrics describe "$NAME" --format='value(name)'; then
            w logging metrics update "$NAME" --config-from-file="$FILE"
          else
            w logging metrics create "$NAME" --config-from-file="$FILE"
          fi
        }
        step "log-based metric $NAME ($FILE)" _metric_check _metric_apply ;;
      policy)
        _policy_find() { q alpha monitoring policies list --filter="displayName=\"$NAME\"" --format=json; }
        _policy_check() {
          _policy_find && node "$ROOT/scripts/deploy-config.mjs" same --file "$FILE" --current-json "$OUT"
        }
        _policy_apply() {
          # Not found (or no gcloud, in a dry run): create it.
          _policy_find || OUT="[]"
          local existing
          existing="$(node -e 'const l=JSON.parse(process.argv[1]||"[]");process.stdout.write(l[0]?.name??"")' "$OUT")"
          if [ -n "$existing" ]; then w alpha monitoring policies update "$existing" --policy-from-file="$FILE"
          else w alpha monitoring policies create --policy-from-file="$FILE"; fi
        }
        step "alerting policy \"$NAME\" ($FILE)" _policy_check _policy_apply ;;
    esac
  done <<<"$MONITORING"
fi

# ------------------------------------------------------------------------------------------------ what is left
echo "# Left to do"
[ "$DRY_RUN" = 1 ] && echo "(dry run: nothing was changed)"
if [ ${#EMPTY_SECRETS[@]} -gt 0 ]; then
  echo "- Give these secrets a value (Cloud Run refuses a revision whose secret has none; docs/operations.md, \"Secrets\"):"
  for SECRET in "${EMPTY_SECRETS[@]}"; do
    echo "    printf %s \"\$VALUE\" | gcloud secrets versions add $SECRET --project=$PROJECT --data-file=-"
  done
fi
if [ -z "$SERVICE_URL" ]; then
  echo "- Deploy (docs/operations.md, \"Deploy\"), then run this script again:"
  echo "    gcloud builds submit --project=$PROJECT --config=cloudbuild.yaml \\"
  echo "      --service-account=projects/$PROJECT/serviceAccounts/$DEPLOYER_SA --substitutions=_TAG=\$(git rev-parse --short HEAD)"
else
  echo "- Check the deployment: scripts/smoke.sh $SERVICE_URL --project $PROJECT"
fi
if [ ${#PENDING[@]} -gt 0 ]; then
  echo "- Waiting on Google (PENDING above): ${#PENDING[@]} step(s); run this script again once granted."
fi
echo "- Once, in Producer Portal (Technical integration): link $RUNTIME_SA for the Procurement API and for Pub/Sub;"
echo "  for the automated integration test, grant roles/commerceproducer.viewer to"
echo "  cloud-commerce-saastester@system.gserviceaccount.com on the listing's project (docs/operations.md)."
