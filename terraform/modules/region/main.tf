locals {
  labels = {
    "app.kubernetes.io/part-of"    = "statusedge"
    "app.kubernetes.io/managed-by" = "terraform"
    "statusedge.io/region"         = var.region
  }
  annotations = var.rollout_after == "" ? {} : { "statusedge.io/rollout-after" = var.rollout_after }

  origin_name   = "origin-${var.region}"
  peers_service = "origin-${var.region}-peers"
  peer_domain   = var.peer_domain != "" ? var.peer_domain : "${local.peers_service}.${var.namespace}.svc.${var.cluster_domain}"
  origin_url    = "http://${local.origin_name}.${var.namespace}.svc.${var.cluster_domain}:7070"

  edge_name   = "edge-${var.region}"
  redis_name  = "redis-${var.region}"
  redis_addr  = var.redis_address != "" ? var.redis_address : "${local.redis_name}.${var.namespace}.svc.${var.cluster_domain}:6379"
  run_redis   = var.redis_address == ""
  gossip_name = "gossip-${var.region}"
  gossip_seed = "${local.gossip_name}.${var.namespace}.svc.${var.cluster_domain}:7946"
  gossip_join = join(",", distinct(concat([local.gossip_seed], var.gossip_seeds)))

  namespace = var.create_namespace ? kubernetes_namespace.this[0].metadata[0].name : var.namespace

  # A first start: pod 0 of the first region bootstraps (once; refused if a
  # peer already belongs to a cluster), every other pod joins. A pod with
  # state of its own restarts from it and ignores --join.
  origin_start_args = var.bootstrap ? concat(
    ["--bootstrap"],
    [for p in [join(",", var.bootstrap_peers)] : "--bootstrap-peers=${p}" if p != ""],
  ) : ["--join=${var.join_url}"]

  # What the origin reads: flags here, secrets from the environment
  # (origin_secret_keys below). POD_NAME and POD_IP come from the downward
  # API; Kubernetes expands $(VAR) in args.
  origin_args = concat([
    "origin",
    "--data=/data",
    "--id=$(POD_NAME)",
    "--region=${var.region}",
    "--voter=${var.voter}",
    "--raft-addr=0.0.0.0:7000",
    "--raft-advertise=$(POD_NAME).${local.peer_domain}:7000",
    "--api-addr=0.0.0.0:7070",
    "--api-url=http://$(POD_NAME).${local.peer_domain}:7070",
    "--gossip-addr=0.0.0.0:7946",
    "--gossip-advertise=$(POD_IP):7946",
    "--gossip-join=${local.gossip_join}",
  ], local.origin_start_args)

  # HTTPS at the edge: --listen stays the probes' (and, without https, the
  # visitors') plain port; --http-listen answers ACME HTTP-01 and redirects.
  https = var.https.enabled
  edge_https_args = local.https ? concat([
    "--https-listen=0.0.0.0:8443",
    "--http-listen=0.0.0.0:8081",
    ], var.https.acme_email != "" ? ["--acme-email=${var.https.acme_email}"] : [],
    var.https.acme_ca != "" ? ["--acme-ca=${var.https.acme_ca}"] : [],
  ) : []

  edge_args = concat([
    "edge",
    "--region=${var.region}",
    "--listen=0.0.0.0:8080",
    "--metrics-listen=0.0.0.0:9090",
    "--origin=${join(",", concat([local.origin_url], var.origin_fallbacks))}",
    "--redis=${local.redis_addr}",
    "--l1-bytes=${var.edge_l1_bytes}",
    "--gossip-addr=0.0.0.0:7946",
    "--gossip-advertise=$(POD_IP):7946",
    "--gossip-join=${local.gossip_join}",
  ], [for c in var.trusted_proxies : "--trusted-proxy=${c}"], local.edge_https_args)

  origin_secret_keys = concat(
    ["STATUSEDGE_OPERATOR_TOKEN", "STATUSEDGE_CLUSTER_SECRET", "STATUSEDGE_EDGE_SECRET", "STATUSEDGE_GOSSIP_KEY"],
    local.https ? ["STATUSEDGE_CERT_SECRET"] : [],
  )
  edge_secret_keys = concat(["STATUSEDGE_EDGE_SECRET", "STATUSEDGE_GOSSIP_KEY"], local.https ? ["STATUSEDGE_CERT_SECRET"] : [])
}

resource "kubernetes_namespace" "this" {
  count = var.create_namespace ? 1 : 0
  metadata {
    name        = var.namespace
    labels      = { "app.kubernetes.io/part-of" = "statusedge" }
    annotations = local.annotations
  }
}

# Two Secrets: edges get only what lets them read (the edge secret), gossip
# and, with https, the certificate storage (the cert secret); the operator
# token and the cluster secret stay with the origins.
resource "kubernetes_secret" "origin" {
  metadata {
    name        = "${local.origin_name}-secrets"
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  type = "Opaque"
  data = merge({
    STATUSEDGE_OPERATOR_TOKEN = var.secrets.operator_token
    STATUSEDGE_CLUSTER_SECRET = var.secrets.cluster_secret
    STATUSEDGE_EDGE_SECRET    = var.secrets.edge_secret
    STATUSEDGE_GOSSIP_KEY     = var.secrets.gossip_key
  }, local.https ? { STATUSEDGE_CERT_SECRET = var.secrets.cert_secret } : {})
}

resource "kubernetes_secret" "edge" {
  metadata {
    name        = "${local.edge_name}-secrets"
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  type = "Opaque"
  data = merge({
    STATUSEDGE_EDGE_SECRET = var.secrets.edge_secret
    STATUSEDGE_GOSSIP_KEY  = var.secrets.gossip_key
  }, local.https ? { STATUSEDGE_CERT_SECRET = var.secrets.cert_secret } : {})
}

# The memberlist Service: every origin and edge pod of the region, ready or
# not (a node gossips before it is ready), as one DNS name the nodes of
# every region use as a seed.
resource "kubernetes_service" "gossip" {
  metadata {
    name        = local.gossip_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    cluster_ip                  = "None"
    publish_not_ready_addresses = true
    selector = {
      "app.kubernetes.io/part-of" = "statusedge"
      "statusedge.io/region"      = var.region
      "statusedge.io/gossip"      = "true"
    }
    port {
      name        = "gossip-tcp"
      port        = 7946
      target_port = "7946"
      protocol    = "TCP"
    }
    port {
      name        = "gossip-udp"
      port        = 7946
      target_port = "7946"
      protocol    = "UDP"
    }
  }
}
