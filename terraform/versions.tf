terraform {
  # terraform test with mock providers (1.7), override_during (1.9),
  # cross-variable validation (1.9).
  required_version = ">= 1.9"
  required_providers {
    # Pinned to the versions that can be built offline from the Go module
    # proxy (README, "Provider versions"): the code uses their 1.x schemas.
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "1.13.4"
    }
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "1.18.1"
    }
  }
}
