# One region's statusedge: origin replicas (raft), edges, Redis L2, gossip.
# The root module (../../) computes most of these from its one `regions`
# variable; the checks here guard a direct use of the module.

variable "region" {
  description = "Region name: in every object's name and labels, the --region of origins and edges, and the gossip node names."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", var.region))
    error_message = "region \"${var.region}\": want 1 to 20 lowercase letters, digits and '-', starting with a letter (it goes into pod names and DNS labels)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace for every object of this region."
  type        = string
  default     = "statusedge"
}

variable "create_namespace" {
  description = "Create the namespace (false: it exists already)."
  type        = bool
  default     = true
}

variable "cluster_domain" {
  description = "The cluster's DNS domain."
  type        = string
  default     = "cluster.local"
}

variable "image" {
  description = "The statusedge image (make image), pinned by tag or digest; the same in every region."
  type        = string
}

variable "image_pull_policy" {
  description = "imagePullPolicy of statusedge containers."
  type        = string
  default     = "IfNotPresent"
}

# ---- origin replicas

variable "voter" {
  description = "true: this region's origin replicas are raft voters; false: non-voters (replicate, serve reads, never vote)."
  type        = bool
}

variable "origin_replicas" {
  description = "Origin replicas (StatefulSet pods) in this region."
  type        = number
  validation {
    condition     = var.origin_replicas >= 1 && floor(var.origin_replicas) == var.origin_replicas
    error_message = "origin_replicas must be a whole number >= 1 (the region's edges read from their own region's origin)."
  }
}

variable "bootstrap" {
  description = "Pod 0 of this region bootstraps a new raft cluster (only the first region, only on the very first apply; see README)."
  type        = bool
  default     = false
}

variable "bootstrap_peers" {
  description = "With bootstrap: API URLs of the replicas meant to join (the region's other pods, pod 0 of every other region). The origin refuses to bootstrap when one of them already belongs to a cluster, so a bootstrap re-run over a lost volume cannot found a second cluster."
  type        = list(string)
  default     = []
}

variable "join_url" {
  description = "API URL of the member every origin pod joins through (the first region's pod 0); empty only with bootstrap."
  type        = string
  default     = ""
  validation {
    condition     = var.bootstrap != (var.join_url != "")
    error_message = "join_url: give the API URL of the first region's pod 0 unless this region bootstraps, and none when it does (--bootstrap and --join exclude each other)."
  }
}

variable "peer_domain" {
  description = "DNS suffix under which other regions reach this region's origin pods (<pod>.<peer_domain>); empty: <peers Service>.<namespace>.svc.<cluster_domain>, which needs a flat network with shared DNS across clusters."
  type        = string
  default     = ""
}

variable "origin_max_unavailable" {
  description = "The origin PodDisruptionBudget's maxUnavailable: the root gives each voter region its share of the cluster's fault tolerance, so voluntary evictions in every region at once never take the quorum."
  type        = number
  validation {
    condition     = var.origin_max_unavailable >= 0 && floor(var.origin_max_unavailable) == var.origin_max_unavailable
    error_message = "origin_max_unavailable must be a whole number >= 0."
  }
}

variable "origin_update_strategy" {
  description = "RollingUpdate: Kubernetes replaces one pod at a time, highest ordinal first, each after the previous is ready (caught up), and Terraform waits for it; OnDelete: pods change only when deleted (the leader-last runbook in README), and Terraform does not wait."
  type        = string
  default     = "RollingUpdate"
  validation {
    condition     = contains(["RollingUpdate", "OnDelete"], var.origin_update_strategy)
    error_message = "origin_update_strategy \"${var.origin_update_strategy}\" is unknown: want \"RollingUpdate\" or \"OnDelete\"."
  }
}

variable "origin_partition" {
  description = "With RollingUpdate, only pods with an ordinal >= partition take a new template (stage a change on the highest pod first)."
  type        = number
  default     = 0
  validation {
    condition     = var.origin_partition >= 0 && floor(var.origin_partition) == var.origin_partition
    error_message = "origin_partition must be a whole number >= 0."
  }
}

variable "origin_storage" {
  description = "Persistent volume for each origin replica's raft log, stable store and snapshots."
  type = object({
    size          = optional(string, "10Gi")
    storage_class = optional(string)
  })
  default = {}
}

variable "origin_resources" {
  description = "Requests and limits of each origin container."
  type = object({
    cpu_request    = optional(string, "250m")
    memory_request = optional(string, "512Mi")
    cpu_limit      = optional(string, "2")
    memory_limit   = optional(string, "2Gi")
  })
  default = {}
}

# ---- edges

variable "edge_min_replicas" {
  description = "Lower bound of the edge HorizontalPodAutoscaler (and the Deployment's initial replicas)."
  type        = number
  default     = 2
}

variable "edge_max_replicas" {
  description = "Upper bound of the edge HorizontalPodAutoscaler."
  type        = number
  default     = 10
  validation {
    condition     = var.edge_min_replicas >= 1 && var.edge_max_replicas >= var.edge_min_replicas
    error_message = "edge replicas: want 1 <= edge_min_replicas <= edge_max_replicas."
  }
}

variable "edge_cpu_target" {
  description = "Average CPU utilization (percent of the request) the edge autoscaler aims for."
  type        = number
  default     = 70
}

variable "edge_l1_bytes" {
  description = "Bound of each edge's in-process cache (--l1-bytes); the memory limit adds 256 MiB to it."
  type        = number
  default     = 268435456
}

variable "edge_resources" {
  description = "CPU requests and limits of each edge container (memory follows edge_l1_bytes)."
  type = object({
    cpu_request = optional(string, "500m")
    cpu_limit   = optional(string, "4")
  })
  default = {}
}

variable "trusted_proxies" {
  description = "CIDRs whose X-Forwarded-For the edges believe (--trusted-proxy): the load balancer's or Cloudflare's ranges. (They do not read the edges' /metrics: Prometheus scrapes the pods' --metrics-listen port, 9090.)"
  type        = list(string)
  default     = []
}

variable "edge_service_annotations" {
  description = "Annotations on the visitors' LoadBalancer Service (e.g. the cloud's TLS certificate for port 443)."
  type        = map(string)
  default     = {}
}

variable "https" {
  description = "HTTPS at the edges (secrets.cert_secret set): on-demand ACME certificates for verified custom domains, kept in the origins' raft store. The Service's 443 goes to the edge's --https-listen and its 80 to --http-listen (ACME HTTP-01, redirects). acme_ca empty: Let's Encrypt."
  type = object({
    enabled    = optional(bool, false)
    acme_email = optional(string, "")
    acme_ca    = optional(string, "")
  })
  default = {}
}

variable "origin_fallbacks" {
  description = "API URLs of other regions' origin replicas an edge falls back on when its own region's cannot answer (after the region's origin Service in --origin)."
  type        = list(string)
  default     = []
}

# ---- Redis (the region's L2)

variable "redis_address" {
  description = "host:port of a Redis run by someone else (an operator, a managed service); empty: this module runs a Redis StatefulSet."
  type        = string
  default     = ""
  validation {
    condition     = var.redis_address == "" || can(regex("^[^:/ ]+:[0-9]{1,5}$", var.redis_address))
    error_message = "redis_address \"${var.redis_address}\": want host:port, or empty to run Redis here."
  }
}

variable "redis_image" {
  description = "Redis image for the module's StatefulSet (>= 6: the edges use RESP3 client-side caching)."
  type        = string
  default     = "redis:7.4-alpine"
}

variable "redis_maxmemory_mib" {
  description = "Redis maxmemory in MiB (the L2 evicts least recently used entries beyond it); the container's memory is 256 MiB more."
  type        = number
  default     = 1024
}

# ---- gossip

variable "gossip_seeds" {
  description = "host:port gossip seeds in other regions (this region's own memberlist Service is always a seed)."
  type        = list(string)
  default     = []
}

# ---- secrets

variable "secrets" {
  description = "The secrets the binaries read from their environment: operator token and cluster secret (origins only), edge secret and gossip key (origins and edges), cert secret (origins and edges, with https; empty: none)."
  type = object({
    operator_token = string
    cluster_secret = string
    edge_secret    = string
    gossip_key     = string
    cert_secret    = optional(string, "")
  })
  sensitive = true
}

# ---- rollout

variable "rollout_after" {
  description = "The region this one was rolled out after (the root passes the previous region's healthy output); recorded on every object as the statusedge.io/rollout-after annotation."
  type        = string
  default     = ""
}
