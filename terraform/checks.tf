# Checks of the secret inputs. They are preconditions rather than variable
# validations because Terraform prints the rejected value of a variable in
# a validation's diagnostic, sensitive or not; a precondition's diagnostic
# prints only its message. Nothing is created: terraform_data only holds
# the checks (and needs no provider).
resource "terraform_data" "secret_checks" {
  lifecycle {
    precondition {
      condition     = length(var.operator_token) >= 16
      error_message = "operator_token must be at least 16 characters (the origin refuses shorter ones)."
    }
    precondition {
      condition     = length(var.cluster_secret) >= 16
      error_message = "cluster_secret must be at least 16 characters (the origin refuses shorter ones)."
    }
    precondition {
      condition     = length(var.edge_secret) >= 16
      error_message = "edge_secret must be at least 16 characters (the origin refuses shorter ones)."
    }
    precondition {
      condition     = var.edge_secret != var.cluster_secret
      error_message = "edge_secret must differ from cluster_secret: edges must not get the replicas' write power."
    }
    precondition {
      condition     = can(regex("^([0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$", var.gossip_key))
      error_message = "gossip_key must be 32, 48 or 64 hex digits (16, 24 or 32 bytes), e.g. from: openssl rand -hex 32."
    }
    precondition {
      condition     = !var.https.enabled || (length(var.cert_secret) >= 16 && var.cert_secret != var.cluster_secret && var.cert_secret != var.edge_secret)
      error_message = "https needs cert_secret: at least 16 characters, and neither the cluster secret nor the edge secret."
    }
    precondition {
      condition     = var.dns == null || var.cloudflare_api_token != ""
      error_message = "cloudflare_api_token is required when dns is set."
    }
  }
}
