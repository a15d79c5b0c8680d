# ---- regions: the one variable a rollout is described by

variable "regions" {
  description = <<-EOT
    The regions in rollout order: the first is rolled out (and, with
    bootstrap, bootstraps the raft cluster) first, and each next region
    starts only once the one before it is healthy. Per region:
      name              region name (lowercase, digits, '-'; <= 20 characters)
      kube_context      the kubeconfig context of the region's cluster
      role              "voter" (a home region: its origin replicas vote in raft)
                        or "non-voter" (replicas replicate and serve, never vote)
      origin_replicas   origin StatefulSet pods (default 1)
      edge_min_replicas, edge_max_replicas   the edge autoscaler's bounds (2, 10)
      geo               Cloudflare geo regions (WNAM, ENAM, WEU, EEU, NSAM, SSAM,
                        OC, ME, NAF, SAF, SAS, SEAS, NEAS) steered to this region
      peer_domain       DNS suffix other regions reach its origin pods under
                        (default <peers Service>.<namespace>.svc.cluster.local)
      edge_address      address for its DNS pool (default: its LoadBalancer's)
      redis_address     a Redis run elsewhere (default: a Redis StatefulSet)
  EOT
  type = list(object({
    name              = string
    kube_context      = optional(string, "")
    role              = optional(string, "")
    origin_replicas   = optional(number, 1)
    edge_min_replicas = optional(number, 2)
    edge_max_replicas = optional(number, 10)
    geo               = optional(list(string), [])
    peer_domain       = optional(string, "")
    edge_address      = optional(string, "")
    redis_address     = optional(string, "")
  }))

  validation {
    condition     = length(var.regions) >= 1 && length(var.regions) <= 5
    error_message = "regions: ${length(var.regions)} given; between 1 and 5 are supported (one kubernetes provider slot each in providers.tf: add slots there for more)."
  }
  validation {
    condition     = alltrue([for r in var.regions : can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", r.name))])
    error_message = "regions: bad name ${join(", ", [for r in var.regions : "\"${r.name}\"" if !can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", r.name))])}: want 1 to 20 lowercase letters, digits and '-', starting with a letter (names go into pod names and DNS labels)."
  }
  validation {
    condition     = length(distinct([for r in var.regions : r.name])) == length(var.regions)
    error_message = "regions: names must be unique; repeated: ${join(", ", distinct([for r in var.regions : r.name if length([for s in var.regions : s if s.name == r.name]) > 1]))}."
  }
  validation {
    condition     = alltrue([for r in var.regions : trimspace(r.kube_context) != ""])
    error_message = "regions: region ${join(", ", [for r in var.regions : "\"${r.name}\"" if trimspace(r.kube_context) == ""])} has no kube_context: name the kubeconfig context of the region's cluster."
  }
  validation {
    condition     = alltrue([for r in var.regions : contains(["voter", "non-voter"], r.role)])
    error_message = "regions: unknown role ${join(", ", [for r in var.regions : "\"${r.role}\" (region ${r.name})" if !contains(["voter", "non-voter"], r.role)])}: want \"voter\" (a home region holding raft voters) or \"non-voter\"."
  }
  validation {
    condition     = length(var.regions) == 0 || try(var.regions[0].role, "") == "voter"
    error_message = "regions: the first region (${try(var.regions[0].name, "")}) must be a voter region: it is rolled out first and its pod 0 bootstraps the cluster."
  }
  validation {
    condition     = alltrue([for r in var.regions : r.origin_replicas >= 1 && floor(r.origin_replicas) == r.origin_replicas])
    error_message = "regions: origin_replicas must be a whole number >= 1 in every region (the region's edges read from their own origin): ${join(", ", [for r in var.regions : "${r.name}=${r.origin_replicas}" if !(r.origin_replicas >= 1 && floor(r.origin_replicas) == r.origin_replicas)])}."
  }
  validation {
    condition     = sum(concat([0], [for r in var.regions : r.role == "voter" ? r.origin_replicas : 0])) % 2 == 1
    error_message = "regions: ${sum(concat([0], [for r in var.regions : r.role == "voter" ? r.origin_replicas : 0]))} voters (origin_replicas summed over voter regions) is an even count: a raft cluster of 2n voters tolerates no more failures than one of 2n-1, and an even split leaves no majority. Use an odd count (3 or 5)."
  }
  validation {
    condition     = alltrue([for r in var.regions : r.edge_min_replicas >= 1 && r.edge_max_replicas >= r.edge_min_replicas])
    error_message = "regions: want 1 <= edge_min_replicas <= edge_max_replicas in every region."
  }
  validation {
    condition = alltrue(flatten([for r in var.regions : [for g in r.geo : contains(
    ["WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS"], g)]]))
    error_message = "regions: unknown geo region ${join(", ", flatten([for r in var.regions : [for g in r.geo : "\"${g}\" (region ${r.name})" if !contains(["WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS"], g)]]))}: want Cloudflare's codes WNAM, ENAM, WEU, EEU, NSAM, SSAM, OC, ME, NAF, SAF, SAS, SEAS, NEAS."
  }
  validation {
    condition     = length(flatten([for r in var.regions : r.geo])) == length(distinct(flatten([for r in var.regions : r.geo])))
    error_message = "regions: a geo region is steered to two regions: ${join(", ", distinct([for g in flatten([for r in var.regions : r.geo]) : g if length([for r in var.regions : r if contains(r.geo, g)]) > 1]))}."
  }
}

variable "bootstrap" {
  description = "true only for the very first apply of a new cluster: the first region runs one origin pod that bootstraps raft; every other pod joins it. Set it back to false right after (README, \"First region\")."
  type        = bool
  default     = false
}

variable "image" {
  description = "The statusedge image (make image), pinned by tag or digest: the same in every region."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image \"${var.image}\": pin a tag (not :latest) or a @sha256: digest, so every region runs the same bytes and a rollback names what it returns to."
  }
}

variable "namespace" {
  description = "Kubernetes namespace in every region."
  type        = string
  default     = "statusedge"
}

variable "kubeconfig_path" {
  description = "The kubeconfig holding every region's context."
  type        = string
  default     = "~/.kube/config"
}

variable "origin_update_strategy" {
  description = "RollingUpdate (Terraform waits; pods replaced highest ordinal first, each once the previous is caught up) or OnDelete (pods change when the operator deletes them, leader last; README)."
  type        = string
  default     = "RollingUpdate"
  validation {
    condition     = contains(["RollingUpdate", "OnDelete"], var.origin_update_strategy)
    error_message = "origin_update_strategy \"${var.origin_update_strategy}\" is unknown: want \"RollingUpdate\" or \"OnDelete\"."
  }
}

variable "origin_partition" {
  description = "With RollingUpdate, only origin pods with an ordinal >= this take a new template (stage a release on the highest pod of each region)."
  type        = number
  default     = 0
}

variable "trusted_proxies" {
  description = "CIDRs whose X-Forwarded-For the edges believe (Cloudflare's ranges when proxied)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.trusted_proxies : can(cidrhost(c, 0))])
    error_message = "trusted_proxies: want CIDRs such as 173.245.48.0/20."
  }
}

variable "edge_service_annotations" {
  description = "Annotations on every region's visitor LoadBalancer Service (e.g. the TLS certificate for port 443)."
  type        = map(string)
  default     = {}
}

variable "https" {
  description = "HTTPS at the edges: on-demand ACME certificates for verified custom domains, stored once in the origins' raft store (needs cert_secret). acme_ca empty: Let's Encrypt. Off: the edges serve HTTP and TLS ends in front of them (Cloudflare's proxy or the cloud's load balancer)."
  type = object({
    enabled    = optional(bool, false)
    acme_email = optional(string, "")
    acme_ca    = optional(string, "")
  })
  default = {}
}

# ---- geo DNS

variable "dns" {
  description = "Cloudflare load balancing in front of the regions' edges (null: no DNS). hostname is the public name (e.g. status.example.com) in zone_id."
  type = object({
    zone_id            = string
    hostname           = string
    proxied            = optional(bool, true)
    notification_email = optional(string, "")
  })
  default = null
}

# ---- secrets: sensitive inputs, never in outputs; pass them with TF_VAR_*
# from a secret store, never in a .tfvars file (Terraform quotes the line of a
# var file it complains about). Their checks are preconditions in checks.tf:
# a variable validation's message shows the value it rejected, even a
# sensitive one (Terraform 1.11); a precondition's does not.

variable "operator_token" {
  description = "The operator token (STATUSEDGE_OPERATOR_TOKEN): full management API access."
  type        = string
  sensitive   = true
}

variable "cluster_secret" {
  description = "The secret the origin replicas share (STATUSEDGE_CLUSTER_SECRET)."
  type        = string
  sensitive   = true
}

variable "edge_secret" {
  description = "The secret that lets edges read the origins' internal API and nothing else (STATUSEDGE_EDGE_SECRET)."
  type        = string
  sensitive   = true
}

variable "gossip_key" {
  description = "Hex key of 16, 24 or 32 bytes that encrypts gossip (STATUSEDGE_GOSSIP_KEY)."
  type        = string
  sensitive   = true
}

variable "cert_secret" {
  description = "The secret that lets edges use the certificate storage and nothing else (STATUSEDGE_CERT_SECRET); only with https."
  type        = string
  sensitive   = true
  default     = ""
}

variable "cloudflare_api_token" {
  description = "Cloudflare API token with Load Balancing edit rights on the zone (only with dns)."
  type        = string
  sensitive   = true
  default     = ""
}
