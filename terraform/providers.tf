# One kubernetes provider per region slot: Terraform cannot create provider
# configurations from a variable, so the slots are fixed and each takes its
# kube context from var.regions[i]. Five slots; for a sixth region add
# kubernetes.r5 here and module.region_5 in main.tf (README, "Add a region").

provider "kubernetes" {
  alias          = "r0"
  config_path    = var.kubeconfig_path
  config_context = try(var.regions[0].kube_context, null)
}

provider "kubernetes" {
  alias          = "r1"
  config_path    = var.kubeconfig_path
  config_context = try(var.regions[1].kube_context, null)
}

provider "kubernetes" {
  alias          = "r2"
  config_path    = var.kubeconfig_path
  config_context = try(var.regions[2].kube_context, null)
}

provider "kubernetes" {
  alias          = "r3"
  config_path    = var.kubeconfig_path
  config_context = try(var.regions[3].kube_context, null)
}

provider "kubernetes" {
  alias          = "r4"
  config_path    = var.kubeconfig_path
  config_context = try(var.regions[4].kube_context, null)
}

provider "cloudflare" {
  api_token = var.cloudflare_api_token
}
