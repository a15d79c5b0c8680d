locals {
  edge_labels = merge(local.labels, {
    "app.kubernetes.io/name"      = "statusedge"
    "app.kubernetes.io/component" = "edge"
    "statusedge.io/gossip"        = "true"
  })
  edge_selector = {
    "app.kubernetes.io/part-of"   = "statusedge"
    "app.kubernetes.io/component" = "edge"
    "statusedge.io/region"        = var.region
  }
  # The edge sets its Go soft memory limit to L1 + 128 MiB; the container
  # limit leaves room above that.
  edge_memory_mib = ceil(var.edge_l1_bytes / 1048576) + 256
}

resource "kubernetes_deployment" "edge" {
  metadata {
    name        = local.edge_name
    namespace   = local.namespace
    labels      = local.edge_labels
    annotations = local.annotations
  }
  # The apply returns once the new pods are ready (they have the registry
  # from the origin): the next region waits for that.
  wait_for_rollout = true

  spec {
    replicas                  = var.edge_min_replicas
    revision_history_limit    = 10
    progress_deadline_seconds = 600
    selector {
      match_labels = local.edge_selector
    }
    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_unavailable = "0"
        max_surge       = "25%"
      }
    }
    template {
      metadata {
        labels      = local.edge_labels
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
        }
        affinity {
          pod_anti_affinity {
            preferred_during_scheduling_ignored_during_execution {
              weight = 100
              pod_affinity_term {
                topology_key = "kubernetes.io/hostname"
                label_selector {
                  match_labels = local.edge_selector
                }
              }
            }
          }
        }
        container {
          name              = "edge"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          args              = local.edge_args

          env {
            name = "POD_IP"
            value_from {
              field_ref {
                field_path = "status.podIP"
              }
            }
          }
          dynamic "env" {
            for_each = local.edge_secret_keys
            content {
              name = env.value
              value_from {
                secret_key_ref {
                  name = kubernetes_secret.edge.metadata[0].name
                  key  = env.value
                }
              }
            }
          }

          port {
            name           = "http"
            container_port = 8080
          }
          port {
            name           = "metrics" # --metrics-listen: Prometheus scrapes the pod; no Service exposes it
            container_port = 9090
          }
          dynamic "port" {
            for_each = local.https ? { https = 8443, http-acme = 8081 } : {}
            content {
              name           = port.key
              container_port = port.value
            }
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

          # Ready: the edge holds the site registry from its origin; one
          # without it leaves the Service.
          readiness_probe {
            http_get {
              path = "/readyz"
              port = "8080"
            }
            period_seconds    = 5
            timeout_seconds   = 2
            failure_threshold = 2
          }
          liveness_probe {
            http_get {
              path = "/livez"
              port = "8080"
            }
            initial_delay_seconds = 5
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 3
          }

          resources {
            requests {
              cpu    = var.edge_resources.cpu_request
              memory = "${local.edge_memory_mib}Mi"
            }
            limits {
              cpu    = var.edge_resources.cpu_limit
              memory = "${local.edge_memory_mib}Mi"
            }
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }
        }
      }
    }
  }

  lifecycle {
    # The autoscaler owns the replica count once the Deployment exists.
    ignore_changes = [spec[0].replicas]
  }
}

resource "kubernetes_horizontal_pod_autoscaler" "edge" {
  metadata {
    name        = local.edge_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    min_replicas                      = var.edge_min_replicas
    max_replicas                      = var.edge_max_replicas
    target_cpu_utilization_percentage = var.edge_cpu_target
    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment.edge.metadata[0].name
    }
  }
}

resource "kubernetes_pod_disruption_budget" "edge" {
  metadata {
    name        = local.edge_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    max_unavailable = "1"
    selector {
      match_labels = local.edge_selector
    }
  }
}

# Visitors: 80 and 443. With https, 443 is the edge's own TLS (certificates
# for verified custom domains) and 80 its ACME HTTP-01 and redirect port;
# without, both reach the plain port and TLS ends in front (the cloud's load
# balancer through edge_service_annotations, or Cloudflare's proxy). Local
# traffic policy keeps the client's address, which the edge's per-network
# limits need.
resource "kubernetes_service" "edge" {
  metadata {
    name        = local.edge_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = merge(local.annotations, var.edge_service_annotations)
  }
  spec {
    type                    = "LoadBalancer"
    external_traffic_policy = "Local"
    selector                = local.edge_selector
    port {
      name        = "http"
      port        = 80
      target_port = local.https ? "8081" : "8080"
    }
    port {
      name        = "https"
      port        = 443
      target_port = local.https ? "8443" : "8080"
    }
  }
}
