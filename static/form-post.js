// response_mode=form_post: send the authorization response to the application.
document.getElementById("form-post").submit();
