locals {
  origin_labels = merge(local.labels, {
    "app.kubernetes.io/name"      = "statusedge"
    "app.kubernetes.io/component" = "origin"
    "statusedge.io/voter"         = tostring(var.voter)
    "statusedge.io/gossip"        = "true"
  })
  origin_selector = {
    "app.kubernetes.io/part-of"   = "statusedge"
    "app.kubernetes.io/component" = "origin"
    "statusedge.io/region"        = var.region
  }
  # While bootstrapping, only pod 0 exists: it makes itself a single-voter
  # cluster that every other pod, here and in the other regions, then joins.
  origin_replicas = var.bootstrap ? 1 : var.origin_replicas
}

# Per-pod DNS names for raft and the management API, published before the
# pods are ready: a replica must reach its peers to catch up and become ready.
resource "kubernetes_service" "origin_peers" {
  metadata {
    name        = local.peers_service
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    cluster_ip                  = "None"
    publish_not_ready_addresses = true
    selector                    = local.origin_selector
    port {
      name        = "raft"
      port        = 7000
      target_port = "7000"
    }
    port {
      name        = "api"
      port        = 7070
      target_port = "7070"
    }
  }
}

# The region's origin for its edges and for ctl: ready (caught-up) replicas only.
resource "kubernetes_service" "origin" {
  metadata {
    name        = local.origin_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    selector = local.origin_selector
    port {
      name        = "api"
      port        = 7070
      target_port = "7070"
    }
  }
}

resource "kubernetes_stateful_set" "origin" {
  metadata {
    name        = local.origin_name
    namespace   = local.namespace
    labels      = local.origin_labels
    annotations = local.annotations
  }

  # RollingUpdate: the apply returns once every pod runs the new template
  # and is ready, so the next region starts only after this one is healthy.
  # OnDelete: kubectl's rollout status (what the provider waits with) is
  # undefined, and the pods change when the operator deletes them.
  wait_for_rollout = var.origin_update_strategy == "RollingUpdate"

  spec {
    service_name = kubernetes_service.origin_peers.metadata[0].name
    replicas     = local.origin_replicas
    # Parallel: after a full outage every replica starts at once; ordered
    # start would wait for pod 0 to be ready, which needs a quorum.
    pod_management_policy  = "Parallel"
    revision_history_limit = 10

    selector {
      match_labels = local.origin_selector
    }

    update_strategy {
      type = var.origin_update_strategy
      dynamic "rolling_update" {
        for_each = var.origin_update_strategy == "RollingUpdate" ? [1] : []
        content {
          partition = var.origin_partition
        }
      }
    }

    template {
      metadata {
        labels      = local.origin_labels
        annotations = local.annotations
      }
      spec {
        automount_service_account_token  = false
        enable_service_links             = false
        termination_grace_period_seconds = 30
        security_context {
          run_as_non_root = true
          run_as_user     = 65532
          run_as_group    = 65532
          fs_group        = 65532
        }
        affinity {
          pod_anti_affinity {
            preferred_during_scheduling_ignored_during_execution {
              weight = 100
              pod_affinity_term {
                topology_key = "kubernetes.io/hostname"
                label_selector {
                  match_labels = local.origin_selector
                }
              }
            }
          }
        }

        container {
          name              = "origin"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          args              = local.origin_args

          env {
            name = "POD_NAME"
            value_from {
              field_ref {
                field_path = "metadata.name"
              }
            }
          }
          env {
            name = "POD_IP"
            value_from {
              field_ref {
                field_path = "status.podIP"
              }
            }
          }
          dynamic "env" {
            for_each = local.origin_secret_keys
            content {
              name = env.value
              value_from {
                secret_key_ref {
                  name = kubernetes_secret.origin.metadata[0].name
                  key  = env.value
                }
              }
            }
          }

          port {
            name           = "raft"
            container_port = 7000
          }
          port {
            name           = "api"
            container_port = 7070
          }
          port {
            name           = "gossip-tcp"
            container_port = 7946
            protocol       = "TCP"
          }
          port {
            name           = "gossip-udp"
            container_port = 7946
            protocol       = "UDP"
          }

          # Ready: caught up with what it had before it stopped, a leader
          # known and the disk not stalled (/readyz is 503 otherwise).
          readiness_probe {
            http_get {
              path = "/readyz"
              port = "7070"
            }
            period_seconds    = 5
            timeout_seconds   = 3
            failure_threshold = 3
          }
          # Live: the process answers. Generous, so a replica restoring a
          # large snapshot is not killed for being slow.
          liveness_probe {
            http_get {
              path = "/livez"
              port = "7070"
            }
            initial_delay_seconds = 10
            period_seconds        = 10
            timeout_seconds       = 5
            failure_threshold     = 6
          }

          resources {
            requests {
              cpu    = var.origin_resources.cpu_request
              memory = var.origin_resources.memory_request
            }
            limits {
              cpu    = var.origin_resources.cpu_limit
              memory = var.origin_resources.memory_limit
            }
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }
          volume_mount {
            name       = "data"
            mount_path = "/data"
          }
        }
      }
    }

    volume_claim_template {
      metadata {
        name   = "data"
        labels = local.origin_selector
      }
      spec {
        access_modes       = ["ReadWriteOnce"]
        storage_class_name = var.origin_storage.storage_class
        resources {
          requests = {
            storage = var.origin_storage.size
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !(var.bootstrap && !var.voter)
      error_message = "region ${var.region}: a bootstrapping region must hold voters (the first replica is the cluster's only voter until others join)."
    }
    precondition {
      condition     = !var.https.enabled || length(var.secrets.cert_secret) >= 16
      error_message = "region ${var.region}: https needs secrets.cert_secret (at least 16 characters)."
    }
    precondition {
      condition     = var.origin_partition <= var.origin_replicas
      error_message = "region ${var.region}: origin_partition ${var.origin_partition} is above origin_replicas ${var.origin_replicas}."
    }
  }
}

# Voluntary evictions (node drains, cluster upgrades) take at most this
# region's share of the cluster's fault tolerance; see the root's locals.
resource "kubernetes_pod_disruption_budget" "origin" {
  metadata {
    name        = local.origin_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    max_unavailable = tostring(var.origin_max_unavailable)
    selector {
      match_labels = local.origin_selector
    }
  }
}
