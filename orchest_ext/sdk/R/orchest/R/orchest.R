# The orchest step API for R steps: the same files the Python orchest package reads and
# writes. An output is <step_dir>/output/meta.json plus data.json (JSON values) or data.csv
# (data frames); outputs Python steps wrote as JSON or pandas data frames read back here.

.context <- function(name) {
  value <- Sys.getenv(name, unset = NA)
  if (is.na(value)) {
    stop(name, " is not set: the orchest step API works inside steps run by orchest_ext",
         call. = FALSE)
  }
  value
}

.json_context <- function(name, default) {
  value <- Sys.getenv(name, unset = NA)
  if (is.na(value)) default else jsonlite::fromJSON(value, simplifyVector = TRUE)
}

.parameters <- function(variable, key) {
  file <- Sys.getenv("ORCHEST_PARAMETERS_FILE", unset = "")
  if (is.na(Sys.getenv(variable, unset = NA)) && nzchar(file)) {
    return(jsonlite::read_json(file, simplifyVector = TRUE)[[key]])
  }
  .json_context(variable, list())
}

get_step_uuid <- function() .context("ORCHEST_STEP_UUID")
get_pipeline_uuid <- function() .context("ORCHEST_PIPELINE_UUID")
get_run_uuid <- function() .context("ORCHEST_RUN_UUID")

get_step_param <- function(name, default = NULL) {
  value <- .parameters("ORCHEST_STEP_PARAMETERS", "step")[[name]]
  if (is.null(value)) default else value
}

get_pipeline_param <- function(name, default = NULL) {
  value <- .parameters("ORCHEST_PIPELINE_PARAMETERS", "pipeline")[[name]]
  if (is.null(value)) default else value
}

get_params <- function() {
  list(.parameters("ORCHEST_STEP_PARAMETERS", "step"),
       .parameters("ORCHEST_PIPELINE_PARAMETERS", "pipeline"))
}

.write_atomic <- function(path, write) {
  partial <- paste0(path, ".partial")
  write(partial)
  if (!file.rename(partial, path)) stop("cannot write ", path, call. = FALSE)
}

output <- function(data, name = NULL) {
  if (identical(name, "unnamed")) {
    stop("'unnamed' is reserved for unnamed outputs; choose another name", call. = FALSE)
  }
  directory <- file.path(.context("ORCHEST_STEP_DIR"), "output")
  dir.create(directory, recursive = TRUE, showWarnings = FALSE)
  if (is.data.frame(data)) {
    format <- "csv"
    .write_atomic(file.path(directory, "data.csv"),
                  function(path) utils::write.csv(data, path, row.names = FALSE))
  } else {
    format <- "json"
    text <- jsonlite::toJSON(data, auto_unbox = TRUE, digits = NA, null = "null",
                             na = "null")
    .write_atomic(file.path(directory, "data.json"),
                  function(path) writeLines(text, path, useBytes = TRUE))
  }
  meta <- list(name = name, step_uuid = Sys.getenv("ORCHEST_STEP_UUID"), format = format)
  text <- jsonlite::toJSON(meta, auto_unbox = TRUE, null = "null")
  .write_atomic(file.path(directory, "meta.json"), function(path) writeLines(text, path))
  invisible(NULL)
}

.output_dir <- function(step_uuid, parent_in_run) {
  run_dir <- .context("ORCHEST_RUN_DIR")
  current <- file.path(run_dir, "steps", step_uuid, "output")
  if (parent_in_run) {
    return(if (file.exists(file.path(current, "meta.json"))) current else NULL)
  }
  metas <- Sys.glob(file.path(dirname(run_dir), "*", "steps", step_uuid, "output", "meta.json"))
  earlier <- dirname(metas)
  earlier <- earlier[normalizePath(earlier) != normalizePath(current, mustWork = FALSE)]
  if (length(earlier) == 0) return(NULL)
  earlier[which.max(file.mtime(file.path(earlier, "meta.json")))]
}

.read_value <- function(directory, meta) {
  format <- if (is.null(meta$format)) "pickle5" else meta$format
  if (format == "json") {
    return(jsonlite::read_json(file.path(directory, "data.json"), simplifyVector = TRUE))
  }
  if (format == "csv" || "csv" %in% unlist(meta$also)) {
    return(utils::read.csv(file.path(directory, "data.csv")))
  }
  stop("the output of step ", meta$step_uuid, " is a Python object (", format,
       ") that R cannot read: output a JSON value or a pandas DataFrame for R steps",
       call. = FALSE)
}

get_inputs <- function() {
  inputs <- list(unnamed = list())
  parents <- jsonlite::fromJSON(Sys.getenv("ORCHEST_STEP_PARENTS", "[]"),
                                simplifyVector = FALSE)
  for (parent in parents) {
    directory <- .output_dir(parent$uuid, isTRUE(parent$in_run))
    if (is.null(directory)) next
    meta <- jsonlite::read_json(file.path(directory, "meta.json"))
    value <- .read_value(directory, meta)
    if (is.null(meta$name)) {
      inputs$unnamed[[length(inputs$unnamed) + 1]] <- value
    } else {
      inputs[[meta$name]] <- value
    }
  }
  inputs
}
