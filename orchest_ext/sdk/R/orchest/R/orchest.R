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
  .write_summary(directory, data, name, file.path(directory, paste0("data.", format)))
  invisible(NULL)
}

# summary.json beside an output: as the Python step API writes it (type, bytes, preview of
# data frames and small values); it never fails the step.
.write_summary <- function(directory, data, name, file) {
  tryCatch({
    summary <- list(name = name, type = paste0("R.", class(data)[1]),
                    bytes = unname(file.size(file)), preview = NULL)
    preview <- tryCatch(.preview(data), error = function(e) e)
    if (inherits(preview, "error")) {
      summary$preview_error <- substr(conditionMessage(preview), 1, 500)
    } else {
      summary["preview"] <- list(preview)
    }
    text <- jsonlite::toJSON(summary, auto_unbox = TRUE, null = "null", na = "null",
                             digits = NA, json_verbatim = TRUE)
    .write_atomic(file.path(directory, "summary.json"), function(path) writeLines(text, path))
  }, error = function(e) message("orchest: no summary of the output: ", conditionMessage(e)))
}

.preview <- function(data) {
  if (is.data.frame(data)) {
    shown <- utils::head(data[, seq_len(min(50, ncol(data))), drop = FALSE], 5)
    columns <- lapply(names(shown), function(column) {
      list(name = column, dtype = class(shown[[column]])[1])
    })
    cells <- lapply(shown, function(column) {
      if (is.numeric(column) || is.logical(column)) column else substr(as.character(column), 1, 100)
    })
    rows <- lapply(seq_len(nrow(shown)), function(i) lapply(cells, function(column) column[[i]]))
    return(list(kind = "table", columns = columns, shape = I(c(nrow(data), ncol(data))),
                rows = lapply(rows, unname)))
  }
  text <- jsonlite::toJSON(data, auto_unbox = TRUE, digits = NA, null = "null", na = "null")
  if (nchar(text, type = "bytes") <= 1024) {
    return(list(kind = "value", value = text))
  }
  shown <- paste(utils::capture.output(utils::str(data)), collapse = "\n")
  list(kind = "text", text = substr(shown, 1, 200))
}

log_metric <- function(name, value) {
  if (!is.character(name) || length(name) != 1 || is.na(name) || !nzchar(name) ||
      nchar(name) > 200) {
    stop("A metric's name must be a text of 1 to 200 characters", call. = FALSE)
  }
  if (!is.numeric(value) || length(value) != 1 || !is.finite(value)) {
    stop("Metric '", name, "' must be a finite number, got ",
         paste(deparse(value), collapse = " "), call. = FALSE)
  }
  path <- file.path(.context("ORCHEST_STEP_DIR"), "metrics.json")
  metrics <- if (file.exists(path)) {
    tryCatch(jsonlite::read_json(path), error = function(e) list())
  } else {
    list()
  }
  metrics[[name]] <- value
  text <- jsonlite::toJSON(metrics, auto_unbox = TRUE, digits = NA)
  .write_atomic(path, function(path) writeLines(text, path))
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
