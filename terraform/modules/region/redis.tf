# The region's L2: one Redis without persistence (a cache: losing it costs
# renders, not data), unless redis_address names one run elsewhere.
locals {
  redis_selector = {
    "app.kubernetes.io/part-of"   = "statusedge"
    "app.kubernetes.io/component" = "redis"
    "statusedge.io/region"        = var.region
  }
}

resource "kubernetes_service" "redis" {
  count = local.run_redis ? 1 : 0
  metadata {
    name        = local.redis_name
    namespace   = local.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    selector = local.redis_selector
    port {
      name        = "redis"
      port        = 6379
      target_port = "6379"
    }
  }
}

resource "kubernetes_stateful_set" "redis" {
  count = local.run_redis ? 1 : 0
  metadata {
    name        = local.redis_name
    namespace   = local.namespace
    labels      = merge(local.labels, local.redis_selector)
    annotations = local.annotations
  }
  wait_for_rollout = true
  spec {
    service_name = kubernetes_service.redis[0].metadata[0].name
    replicas     = 1
    selector {
      match_labels = local.redis_selector
    }
    update_strategy {
      type = "RollingUpdate"
    }
    template {
      metadata {
        labels      = merge(local.labels, local.redis_selector)
        annotations = local.annotations
      }
      spec {
        automount_service_account_token = false
        enable_service_links            = false
        security_context {
          run_as_non_root = true
          run_as_user     = 999
          run_as_group    = 999
        }
        container {
          name  = "redis"
          image = var.redis_image
          args = [
            "redis-server",
            "--save", "",
            "--appendonly", "no",
            "--maxmemory", "${var.redis_maxmemory_mib}mb",
            "--maxmemory-policy", "allkeys-lru",
          ]
          port {
            name           = "redis"
            container_port = 6379
          }
          readiness_probe {
            exec {
              command = ["redis-cli", "ping"]
            }
            period_seconds = 5
          }
          liveness_probe {
            tcp_socket {
              port = "6379"
            }
            initial_delay_seconds = 5
            period_seconds        = 10
          }
          resources {
            requests {
              cpu    = "100m"
              memory = "${var.redis_maxmemory_mib + 256}Mi"
            }
            limits {
              memory = "${var.redis_maxmemory_mib + 256}Mi"
            }
          }
          security_context {
            allow_privilege_escalation = false
            capabilities {
              drop = ["ALL"]
            }
          }
          volume_mount {
            name       = "data"
            mount_path = "/data"
          }
        }
        volume {
          name = "data"
          empty_dir {}
        }
      }
    }
  }
}
